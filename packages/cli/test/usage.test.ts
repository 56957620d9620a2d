import { describe, expect, it } from 'vitest';
import { runBinary } from './run-binary.js';

describe('switchyard usage, errors and exit codes (built binary)', () => {
  it('--help and --version exit 0; an unknown command or flag exits 2', async () => {
    const help = await runBinary(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/locks[\s\S]*discovery[\s\S]*cache/);
    expect((await runBinary(['--version'])).code).toBe(0);
    const unknown = await runBinary(['lockz']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('lockz');
    expect((await runBinary(['locks', 'ls', '--bogus'])).code).toBe(2);
  });

  it('no connection, a backend the group does not support, bad values: usage errors naming the field', async () => {
    const none = await runBinary(['locks', 'ls', '--json']);
    expect(none.code).toBe(2);
    expect(JSON.parse(none.stderr).error).toMatchObject({ code: 'USAGE', field: '--backend' });

    const consulLocks = await runBinary(['locks', 'ls', '--backend', 'consul']);
    expect(consulLocks.code).toBe(2);
    expect(consulLocks.stderr).toContain('locks commands run on redis, etcd, memory');

    const both = await runBinary(['locks', 'ls', '--redis', 'redis://127.0.0.1:1', '--etcd', '127.0.0.1:1']);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('choose one with --backend');

    const badUrl = await runBinary(['locks', 'ls', '--redis', 'http://x']);
    expect(badUrl.code).toBe(2);
    expect(badUrl.stderr).toContain('--redis');

    const badTimeout = await runBinary(['locks', 'ls', '--backend', 'memory', '--timeout', 'soon']);
    expect(badTimeout.code).toBe(2);
    expect(badTimeout.stderr).toContain('--timeout');

    const badTls = await runBinary([
      'locks',
      'ls',
      '--redis',
      'redis://127.0.0.1:1',
      '--tls-ca',
      '/nonexistent.pem',
    ]);
    expect(badTls.code).toBe(2);
    expect(badTls.stderr).toContain('--tls-ca');
  });

  it('memory backend: an empty process-local lock space and registry', async () => {
    const ls = await runBinary(['locks', 'ls', '--backend', 'memory', '--json']);
    expect(ls.code).toBe(0);
    expect(ls.json()).toEqual([]);
    const services = await runBinary(['discovery', 'services', '--backend', 'memory', '--json']);
    expect(services.json()).toEqual([]);
    const resolve = await runBinary(['discovery', 'resolve', 'orders', '--backend', 'memory']);
    expect(resolve.code).toBe(3);
  });

  it('completion prints a bash script naming every command', async () => {
    const bash = await runBinary(['completion', 'bash']);
    expect(bash.code).toBe(0);
    expect(bash.stdout).toContain('complete -F _switchyard_complete switchyard');
    expect(bash.stdout).toContain('"locks") words="ls inspect release stats watch');
    expect((await runBinary(['completion', 'fish'])).code).toBe(2);
  });
});

describe('switchyard --json usage errors', () => {
  it('an unknown flag with --json is a JSON error on stderr (exit 2)', async () => {
    const r = await runBinary(['locks', 'ls', '--bogus', '--json']);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stderr)).toEqual({
      error: { code: 'USAGE', message: expect.stringContaining('--bogus') },
    });
  });
});
