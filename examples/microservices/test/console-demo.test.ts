import { describe, expect, it } from 'vitest';
import { startConsoleDemo } from '../src/console-demo.js';

/** `pnpm demo --console`: every page has data over the embedded backends, and an action works. */
describe('demo console', () => {
  it('serves all five pages over the live in-memory system', async () => {
    const demo = await startConsoleDemo(0);
    try {
      expect(demo.server.pages).toEqual(['services', 'locks', 'config', 'routes', 'cache']);
      expect(demo.loginUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/#token=/);
      const auth = { authorization: `Bearer ${demo.server.token}` };
      const get = async (path: string) => {
        const res = await fetch(`${demo.server.url}${path}`, { headers: auth });
        expect(res.status, path).toBe(200);
        return (await res.json()) as Record<string, unknown>;
      };
      const services = (await get('/api/services')) as { services: { name: string; instances: number }[] };
      expect(services.services.find((s) => s.name === 'orders')?.instances).toBe(3);
      const session = await get('/api/session');
      expect(session).toMatchObject({ authenticated: true, readOnly: false });
      // Each page's first request answers with the seeded data.
      expect(JSON.stringify(await get('/api/locks'))).toContain('billing');
      const held = JSON.stringify(await get('/api/locks/billing/held'));
      expect(held).toContain('billing/ledger');
      expect(held).toContain('billing-1');
      expect(JSON.stringify(await get('/api/config/namespaces'))).toContain('orders');
      expect(JSON.stringify(await get('/api/routes/services'))).toContain('chat');
      expect(JSON.stringify(await get('/api/routes/services/chat/pods'))).toContain('chat-a');
      expect(JSON.stringify(await get('/api/cache'))).toContain('products');
    } finally {
      await demo.close();
    }
  });
});
