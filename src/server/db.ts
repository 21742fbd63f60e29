// The platform's SQLite database (better-sqlite3, WAL): people, sessions, jobs (the queue) and
// clips. Opened once per server; every statement is prepared here, nothing else writes SQL.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS users (
  id TEXT PRIMARY KEY, username TEXT NOT NULL UNIQUE, password TEXT NOT NULL, created INTEGER NOT NULL,
  settings TEXT NOT NULL DEFAULT '{}');
CREATE TABLE IF NOT EXISTS sessions (
  hash TEXT PRIMARY KEY, user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE, created INTEGER NOT NULL, seen INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS jobs (
  id TEXT PRIMARY KEY, user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE, status TEXT NOT NULL,
  params TEXT NOT NULL, created INTEGER NOT NULL, started INTEGER, finished INTEGER, clip_id TEXT, error TEXT, attempts INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS jobs_status ON jobs(status, created);
CREATE TABLE IF NOT EXISTS clips (
  id TEXT PRIMARY KEY, user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE, job_id TEXT NOT NULL UNIQUE,
  record TEXT NOT NULL, created INTEGER NOT NULL, share TEXT UNIQUE);
`;

export type JobStatus = 'queued' | 'running' | 'done' | 'failed' | 'cancelled';
export interface UserRow { id: string; username: string; password: string; created: number; settings: string }
export interface JobRow { id: string; user_id: string; status: JobStatus; params: string; created: number; started: number | null; finished: number | null; clip_id: string | null; error: string | null; attempts: number }
export interface ClipRow { id: string; user_id: string; job_id: string; record: string; created: number; share: string | null }

export class Db {
  readonly sql: Database.Database;
  readonly clipsDir: string;

  constructor(dataDir: string) {
    mkdirSync(dataDir, { recursive: true });
    this.clipsDir = join(dataDir, 'clips');
    mkdirSync(this.clipsDir, { recursive: true });
    this.sql = new Database(join(dataDir, 'genlab.db'));
    this.sql.pragma('journal_mode = WAL');
    this.sql.pragma('foreign_keys = ON');
    this.sql.pragma('busy_timeout = 5000');
    this.sql.pragma('synchronous = FULL'); // a committed job or clip survives power loss, not only a killed process
    this.sql.exec(SCHEMA);
  }

  close(): void {
    this.sql.close();
  }

  // people and sessions
  addUser(u: UserRow): boolean {
    try {
      this.sql.prepare('INSERT INTO users (id, username, password, created, settings) VALUES (@id, @username, @password, @created, @settings)').run(u);
      return true;
    } catch (e) {
      if ((e as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') return false;
      throw e;
    }
  }
  userByName(username: string): UserRow | undefined {
    return this.sql.prepare('SELECT * FROM users WHERE username = ?').get(username) as UserRow | undefined;
  }
  userById(id: string): UserRow | undefined {
    return this.sql.prepare('SELECT * FROM users WHERE id = ?').get(id) as UserRow | undefined;
  }
  setSettings(id: string, settings: string): void {
    this.sql.prepare('UPDATE users SET settings = ? WHERE id = ?').run(settings, id);
  }
  addSession(hash: string, userId: string, now: number): void {
    this.sql.prepare('INSERT INTO sessions (hash, user_id, created, seen) VALUES (?, ?, ?, ?)').run(hash, userId, now, now);
  }
  session(hash: string): { user_id: string; created: number; seen: number } | undefined {
    return this.sql.prepare('SELECT user_id, created, seen FROM sessions WHERE hash = ?').get(hash) as { user_id: string; created: number; seen: number } | undefined;
  }
  touchSession(hash: string, now: number): void {
    this.sql.prepare('UPDATE sessions SET seen = ? WHERE hash = ?').run(now, hash);
  }
  dropSession(hash: string): void {
    this.sql.prepare('DELETE FROM sessions WHERE hash = ?').run(hash);
  }

  // the queue
  addJob(j: Pick<JobRow, 'id' | 'user_id' | 'params' | 'created'>): void {
    this.sql.prepare("INSERT INTO jobs (id, user_id, status, params, created) VALUES (@id, @user_id, 'queued', @params, @created)").run(j);
  }
  job(id: string): JobRow | undefined {
    return this.sql.prepare('SELECT * FROM jobs WHERE id = ?').get(id) as JobRow | undefined;
  }
  recentJobs(userId: string, n: number): JobRow[] {
    return this.sql.prepare('SELECT * FROM jobs WHERE user_id = ? ORDER BY created DESC, rowid DESC LIMIT ?').all(userId, n) as JobRow[];
  }
  openJobs(userId: string): number {
    return (this.sql.prepare("SELECT COUNT(*) n FROM jobs WHERE user_id = ? AND status IN ('queued', 'running')").get(userId) as { n: number }).n;
  }
  /** The oldest queued job, marked running (one statement: no two takers get the same job). */
  takeJob(now: number): JobRow | undefined {
    return this.sql.prepare("UPDATE jobs SET status = 'running', started = ?, attempts = attempts + 1 WHERE id = (SELECT id FROM jobs WHERE status = 'queued' ORDER BY created, rowid LIMIT 1) RETURNING *").get(now) as JobRow | undefined;
  }
  /** A queued job that a remote worker took (BullMQ's 'active'): false if it was not queued. */
  markRunning(id: string, now: number): boolean {
    return this.sql.prepare("UPDATE jobs SET status = 'running', started = ?, attempts = attempts + 1 WHERE id = ? AND status = 'queued'").run(now, id).changes > 0;
  }
  /** Jobs queued or running, oldest first. */
  openJobList(): JobRow[] {
    return this.sql.prepare("SELECT * FROM jobs WHERE status IN ('queued', 'running') ORDER BY created, rowid").all() as JobRow[];
  }
  /** Position in the queue (1: next), 0 when not queued. */
  queuePosition(id: string): number {
    const r = this.sql.prepare("SELECT COUNT(*) n FROM jobs WHERE status = 'queued' AND rowid <= (SELECT rowid FROM jobs WHERE id = ? AND status = 'queued')").get(id) as { n: number };
    return r.n;
  }
  finishJob(id: string, status: Exclude<JobStatus, 'queued' | 'running'>, now: number, o: { clipId?: string; error?: string } = {}): boolean {
    return this.sql.prepare("UPDATE jobs SET status = ?, finished = ?, clip_id = ?, error = ? WHERE id = ? AND status IN ('queued', 'running')").run(status, now, o.clipId ?? null, o.error ?? null, id).changes > 0;
  }
  /** After a crash: jobs that were running go back to the queue, unless they were tried `maxAttempts` times (a job that kills the server). */
  requeueRunning(now: number, maxAttempts = 3): number {
    this.sql.prepare("UPDATE jobs SET status = 'failed', finished = ?, error = 'generation failed repeatedly' WHERE status = 'running' AND attempts >= ?").run(now, maxAttempts);
    return this.sql.prepare("UPDATE jobs SET status = 'queued', started = NULL WHERE status = 'running'").run().changes;
  }

  // clips
  /** The clip's record and the job's completion in one transaction (the files are written before). */
  addClip(c: ClipRow, now: number): void {
    this.sql.transaction(() => {
      this.sql.prepare('INSERT INTO clips (id, user_id, job_id, record, created, share) VALUES (@id, @user_id, @job_id, @record, @created, @share)').run(c);
      if (!this.finishJob(c.job_id, 'done', now, { clipId: c.id })) throw new Error(`job ${c.job_id} is no longer running`);
    })();
  }
  clip(id: string): ClipRow | undefined {
    return this.sql.prepare('SELECT * FROM clips WHERE id = ?').get(id) as ClipRow | undefined;
  }
  clipByJob(jobId: string): ClipRow | undefined {
    return this.sql.prepare('SELECT * FROM clips WHERE job_id = ?').get(jobId) as ClipRow | undefined;
  }
  clipByShare(token: string): ClipRow | undefined {
    return this.sql.prepare('SELECT * FROM clips WHERE share = ?').get(token) as ClipRow | undefined;
  }
  clips(userId: string): ClipRow[] {
    return this.sql.prepare('SELECT * FROM clips WHERE user_id = ? ORDER BY created DESC, rowid DESC').all(userId) as ClipRow[];
  }
  setShare(id: string, token: string | null): void {
    this.sql.prepare('UPDATE clips SET share = ? WHERE id = ?').run(token, id);
  }
  dropClip(id: string): void {
    this.sql.transaction(() => {
      this.sql.prepare('UPDATE jobs SET clip_id = NULL WHERE clip_id = ?').run(id);
      this.sql.prepare('DELETE FROM clips WHERE id = ?').run(id);
    })();
  }
  /** Sessions past their idle or absolute expiry. */
  dropExpiredSessions(now: number, idleMs: number, maxMs: number): number {
    return this.sql.prepare('DELETE FROM sessions WHERE seen < ? OR created < ?').run(now - idleMs, now - maxMs).changes;
  }
}
