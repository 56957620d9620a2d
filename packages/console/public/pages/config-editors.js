// Config page editors (DRAFT panels): publish the whole namespace after a diff-against-live
// preview, and start a gray release. Both go through the server's confirmation.
import { ApiError, guarded, post } from '../api.js';
import { el } from '../dom.js';
import { diffTable, errorText } from './config-common.js';

export function publishSection(ns, { base, act, who, discarded }) {
  const editor = el('textarea', { id: 'publish-items', rows: 10, spellcheck: 'false' });
  editor.defaultValue = JSON.stringify(ns.live?.items ?? {}, null, 2);
  editor.value = editor.defaultValue;
  const notes = el('input', { id: 'publish-notes', placeholder: 'release notes (required)', size: 50 });
  const feedback = el('div', { id: 'publish-preview' });
  const body = () => {
    let items;
    try {
      items = JSON.parse(editor.value);
    } catch (e) {
      throw new Error(`items: not JSON (${e.message})`);
    }
    return { items, notes: notes.value, expectedRevision: ns.live?.revision ?? 0, ...who() };
  };
  const fail = (error) =>
    feedback.replaceChildren(el('p', { class: 'error', id: 'publish-error' }, errorText(error)));
  const preview = guarded(async () => {
    try {
      await post(`${base}/publish`, body());
    } catch (error) {
      if (error instanceof ApiError && error.body?.error === 'CONFIRMATION_REQUIRED') {
        const c = error.body.confirmation;
        feedback.replaceChildren(
          el('p', {}, c.summary),
          el('p', { class: 'ok' }, 'Schema: valid.'),
          diffTable(
            c.details.diff,
            `live (revision ${c.details.baseRevision})`,
            'your draft',
            'publish-diff',
          ),
        );
        return;
      }
      fail(error);
    }
  });
  const publish = guarded(async () => {
    try {
      await act(`${base}/publish`, body(), (x) => `published: live revision ${x.live.revision}`);
    } catch (error) {
      fail(error);
    }
  });
  const secrets = Object.values(ns.live?.items ?? {}).includes('******');
  return el(
    'section',
    { id: 'publish-editor', class: 'panel draft' },
    el('h3', {}, el('span', { class: 'badge draft' }, 'DRAFT'), ' Publish a new release (all items, JSON)'),
    discarded
      ? el(
          'p',
          { class: 'error', id: 'draft-discarded' },
          `Your unpublished draft was discarded: the editor now shows live revision ${ns.live?.revision}.`,
        )
      : null,
    secrets
      ? el(
          'p',
          { class: 'muted' },
          'Secrets show as ****** and must be typed again to publish (the console never reads them).',
        )
      : null,
    editor,
    el(
      'div',
      { class: 'toolbar' },
      notes,
      el(
        'button',
        { type: 'button', id: 'publish-preview-button', onclick: preview },
        'Preview diff against live',
      ),
      el('button', { type: 'button', id: 'publish-button', class: 'danger', onclick: publish }, 'Publish…'),
    ),
    feedback,
  );
}

export function grayEditor(ns, { base, act }) {
  const items = el('textarea', {
    id: 'gray-items',
    rows: 4,
    spellcheck: 'false',
    placeholder: '{ "item": "value for gray instances" }',
  });
  const pct = el('input', {
    id: 'gray-percentage',
    type: 'number',
    min: 0,
    max: 100,
    step: 'any',
    size: 5,
    placeholder: '%',
  });
  const labels = el('input', { id: 'gray-labels', placeholder: 'labels zone=a,tier=web', size: 24 });
  const notes = el('input', { id: 'gray-notes', placeholder: 'notes (required)', size: 30 });
  const feedback = el('div', { id: 'gray-feedback' });
  const start = guarded(async () => {
    try {
      const rule = {};
      if (pct.value !== '') rule.percentage = Number(pct.value);
      if (labels.value.trim()) {
        rule.labels = Object.fromEntries(
          labels.value
            .split(',')
            .map((p) => p.trim())
            .filter(Boolean)
            .map((p) => [p.slice(0, p.indexOf('=')), p.slice(p.indexOf('=') + 1)]),
        );
      }
      let overlay;
      try {
        overlay = JSON.parse(items.value || '{}');
      } catch (e) {
        throw new Error(`items: not JSON (${e.message})`);
      }
      await act(
        `${base}/gray`,
        { items: overlay, rule, notes: notes.value },
        (x) => `gray release started: revision ${x.gray?.revision}`,
      );
      feedback.replaceChildren();
    } catch (error) {
      feedback.replaceChildren(el('p', { class: 'error' }, errorText(error)));
    }
  });
  return el(
    'section',
    { id: 'gray-editor', class: 'panel draft' },
    el('h3', {}, 'Gray release (items overlaid on live for matching instances)'),
    ns.gray ? el('p', { class: 'muted' }, 'Starting a new one replaces the running gray release.') : null,
    items,
    el(
      'div',
      { class: 'toolbar' },
      pct,
      labels,
      notes,
      el('button', { type: 'button', id: 'gray-start', onclick: start }, 'Start gray…'),
    ),
    feedback,
  );
}
