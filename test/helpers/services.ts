/**
 * Throwaway Redis and PostgreSQL servers for tests: each on a free port, with its data in a temp directory, torn
 * down by `stop()`. Nothing persistent is touched (Redis without RDB/AOF; a fresh initdb cluster).
 *
 * When the binaries are missing the tests that need them skip with a message — except under CI (CI=true), where
 * `.ci/run` installs them, so a missing binary is a failure there.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const IN_CI = process.env.CI === 'true';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

function which(bin: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':')) if (dir && existsSync(join(dir, bin))) return join(dir, bin);
  return undefined;
}

/** Where PostgreSQL's server binaries are (Debian keeps initdb/pg_ctl out of PATH), or why not. */
export function postgresBin(): { dir: string } | { missing: string } {
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'initdb'))).sort((a, b) => Number(b) - Number(a));
    if (versions.length) return { dir: join(root, versions[0]!, 'bin') };
  }
  const initdb = which('initdb');
  if (initdb && which('pg_ctl')) return { dir: join(initdb, '..') };
  return { missing: 'PostgreSQL server binaries (initdb, pg_ctl) not found: apt-get install postgresql' };
}

export function redisBin(): { path: string } | { missing: string } {
  const path = which('redis-server');
  return path ? { path } : { missing: 'redis-server not found: apt-get install redis-server' };
}

/** The reason to skip tests needing these services, or undefined to run them; throws under CI when one is missing. */
export function skipReason(...needs: ('postgres' | 'redis')[]): string | undefined {
  for (const need of needs) {
    const found = need === 'postgres' ? postgresBin() : redisBin();
    if ('missing' in found) {
      if (IN_CI) throw new Error(`CI=true but ${found.missing}`);
      process.stderr.write(`skipping ${need} tests: ${found.missing}\n`);
      return found.missing;
    }
  }
  return undefined;
}

async function waitFor(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not start within ${timeoutMs} ms`);
}

export interface RedisServer {
  url: string;
  port: number;
  process: ChildProcess;
  stop(): Promise<void>;
  /** Kills it (SIGKILL) and starts it again, empty, on the same port after `downMs` — for fault tests. */
  restart(options?: { downMs?: number }): Promise<void>;
}

export async function startRedis(port?: number): Promise<RedisServer> {
  const found = redisBin();
  if ('missing' in found) throw new Error(found.missing);
  const p = port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'xsys-redis-'));
  const launch = (): ChildProcess => spawn(found.path, ['--port', String(p), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--protected-mode', 'yes'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const ping = (): Promise<boolean> =>
    new Promise((resolve) => {
      const socket = new Socket();
      socket.once('error', () => resolve(false));
      socket.connect(p, '127.0.0.1', () => {
        socket.write('PING\r\n');
        socket.once('data', (d: Buffer) => {
          socket.destroy();
          resolve(d.toString().startsWith('+PONG'));
        });
      });
    });
  const server: RedisServer = {
    url: `redis://127.0.0.1:${p}`,
    port: p,
    process: launch(),
    async stop() {
      await stopChild(server.process);
      rmSync(dir, { recursive: true, force: true });
    },
    async restart(options = {}) {
      server.process.kill('SIGKILL');
      await new Promise((r) => server.process.once('exit', r));
      await new Promise((r) => setTimeout(r, options.downMs ?? 0));
      server.process = launch();
      await waitFor(ping, 'redis-server');
    },
  };
  await waitFor(ping, 'redis-server');
  return server;
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 5000).unref();
  });
}

export interface PostgresServer {
  /** postgres://… of the initial database `xsys`. */
  url: string;
  port: number;
  /** A fresh, empty database on this server; returns its URL. */
  createDatabase(name: string): Promise<string>;
  stop(): Promise<void>;
}

/**
 * initdb + pg_ctl on a free port in a temp directory. As root (CI) PostgreSQL refuses to run, so the cluster belongs
 * to the `postgres` user and its commands run through runuser.
 */
export async function startPostgres(): Promise<PostgresServer> {
  const found = postgresBin();
  if ('missing' in found) throw new Error(found.missing);
  const port = await freePort();
  const root = mkdtempSync(join(tmpdir(), 'xsys-pg-'));
  const data = join(root, 'data');
  const asRoot = process.getuid?.() === 0;
  const run = (bin: string, args: string[]): string => {
    const cmd = join(found.dir, bin);
    return asRoot ? execFileSync('runuser', ['-u', 'postgres', '--', cmd, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }) : execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  };
  if (asRoot) {
    const pw = execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim();
    const gid = execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim();
    chownSync(root, Number(pw), Number(gid));
    chmodSync(root, 0o700);
  }
  run('initdb', ['-D', data, '-U', 'xsys', '-A', 'trust', '--no-sync', '-E', 'UTF8', '--locale=C']);
  // fsync off: a throwaway cluster for tests, speed over durability.
  run('pg_ctl', ['-D', data, '-l', join(root, 'log'), '-w', '-t', '60', '-o', `-p ${port} -k ${root} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off`, 'start']);
  const base = `postgres://xsys@127.0.0.1:${port}`;
  const pg = (await import('pg')).default;
  const admin = new pg.Client({ connectionString: `${base}/postgres` });
  await admin.connect();
  await admin.query('CREATE DATABASE xsys');
  return {
    url: `${base}/xsys`,
    port,
    async createDatabase(name) {
      if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`bad database name ${name}`);
      await admin.query(`CREATE DATABASE ${name}`);
      return `${base}/${name}`;
    },
    async stop() {
      await admin.end().catch(() => undefined);
      try {
        run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    },
  };
}
