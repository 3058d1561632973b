/**
 * What the actions and zip tests share: a folder of files to upload (made on disk), a big file,
 * a zip read by Python's own zipfile module (not by the code that wrote it), and hashes.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { once } from 'node:events';
import { get } from 'node:http';

const run = promisify(execFile);

/** A folder `album` with nested files (a space and a non-ASCII name among them); returns its path. */
export async function makeAlbum(dir: string): Promise<string> {
  const album = join(dir, 'album');
  await mkdir(join(album, 'sub', 'deeper'), { recursive: true });
  await writeFile(join(album, 'a.txt'), 'first file\n');
  await writeFile(join(album, 'sp ace é.txt'), 'unicode name\n');
  await writeFile(join(album, 'sub', 'b.bin'), randomBytes(300_000));
  await writeFile(join(album, 'sub', 'deeper', 'c.md'), '# deep\n');
  return album;
}

/** relative path → sha-256 of every file under `dir`. */
export async function hashTree(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const visit = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await visit(p);
      else out[relative(dir, p)] = createHash('sha256').update(await readFile(p)).digest('hex');
    }
  };
  await visit(dir);
  return out;
}

/** A file of `bytes` random-ish bytes (a repeated random block: quick to make), and its sha-256. */
export async function makeBigFile(path: string, bytes: number): Promise<string> {
  const block = randomBytes(1024 * 1024);
  const hash = createHash('sha256');
  const out = createWriteStream(path);
  for (let left = bytes; left > 0; left -= block.length) {
    const piece = left >= block.length ? block : block.subarray(0, left);
    hash.update(piece);
    if (!out.write(piece)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return hash.digest('hex');
}

export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(path)) h.update(c as Buffer);
  return h.digest('hex');
}

/** sha-256 and length of a URL's body, streamed (a 200 MB body is never held). */
export async function sha256Url(url: string, headers: Record<string, string> = {}): Promise<{ status: number; sha256: string; bytes: number }> {
  return new Promise((resolve, reject) => {
    get(url, { headers }, (res) => {
      const h = createHash('sha256');
      let bytes = 0;
      res.on('data', (c: Buffer) => {
        h.update(c);
        bytes += c.length;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, sha256: h.digest('hex'), bytes }));
      res.on('error', reject);
    }).on('error', reject);
  });
}

/** Downloads a URL to a file; returns status and headers. */
export async function download(url: string, path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined> }> {
  return new Promise((resolve, reject) => {
    get(url, { headers }, (res) => {
      const out = createWriteStream(path);
      res.pipe(out);
      out.on('finish', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
      out.on('error', reject);
    }).on('error', reject);
  });
}

const LIST_ZIP = `
import hashlib, json, sys, zipfile
out = {}
with zipfile.ZipFile(sys.argv[1]) as z:
    assert z.testzip() is None
    for i in z.infolist():
        out[i.filename] = 'dir' if i.is_dir() else hashlib.sha256(z.read(i)).hexdigest()
print(json.dumps(out))
`;

/** A zip's members as Python's zipfile reads them (CRCs checked): name → sha-256, or 'dir'. */
export async function readZip(path: string): Promise<Record<string, string>> {
  const { stdout } = await run('/usr/bin/python3', ['-c', LIST_ZIP, path], { maxBuffer: 64 * 1024 * 1024 });
  return JSON.parse(stdout) as Record<string, string>;
}

export async function fileSize(path: string): Promise<number> {
  return (await stat(path)).size;
}
