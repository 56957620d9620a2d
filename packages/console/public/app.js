const el = (t, text) => {
  const e = document.createElement(t);
  e.textContent = text;
  return e;
};
let source;
function show(service, instances) {
  document.getElementById('svc').textContent = service;
  const table = document.getElementById('instances');
  table.replaceChildren();
  for (const i of instances) {
    const tr = document.createElement('tr');
    for (const v of [
      i.id,
      i.zone ?? '',
      String(i.weight ?? ''),
      i.health,
      JSON.stringify(i.tags ?? []),
      JSON.stringify(i.metadata ?? {}),
    ])
      tr.append(el('td', v));
    table.append(tr);
  }
}
function open(service) {
  if (source) source.close();
  source = new EventSource(`/api/services/${encodeURIComponent(service)}/events`);
  source.onmessage = (m) => show(service, JSON.parse(m.data).instances);
}
fetch('/api/services')
  .then((r) => r.json())
  .then((body) => {
    const ul = document.getElementById('services');
    for (const s of body.services) {
      const li = el('li', `${s.name} (${s.healthy}/${s.instances})`);
      li.onclick = () => open(s.name);
      ul.append(li);
    }
  });
