/**
 * Each unit test file's temporary files in a directory of its own, removed when the file is done:
 * cdktf's Testing makes a directory under os.tmpdir() for every synth and never removes it. The
 * sandbox's TMPDIR does not reach os.tmpdir() (it reads the real environment), so os.tmpdir itself
 * answers this file's directory until the file is done.
 */
/* global afterAll */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const tmpdir = os.tmpdir;
const dir = fs.mkdtempSync(path.join(tmpdir(), 'patroni-standby-cdktf-test-'));
os.tmpdir = () => dir;
afterAll(() => {
  os.tmpdir = tmpdir;
  fs.rmSync(dir, { recursive: true, force: true });
});
