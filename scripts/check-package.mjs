// The package as published: pack it, then lint the tarball with publint and check its types with
// are-the-types-wrong, exactly as a consumer's tools would see it.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const dir = mkdtempSync(join(tmpdir(), 'visitstore-pack-'))
const run = (cmd, args) => execFileSync(cmd, args, { stdio: 'inherit' })
try {
  const [{ filename }] = JSON.parse(execFileSync('npm', ['pack', '--json', '--pack-destination', dir], { encoding: 'utf8' }))
  const tarball = join(dir, filename)
  run('npx', ['publint', 'run', tarball, '--strict'])
  // ESM-only on purpose: browsers and bundlers import it; there is no CommonJS build to check.
  run('npx', ['attw', tarball, '--profile', 'esm-only'])
  console.log(`package check: ${filename} is clean (publint, attw)`)
} finally {
  rmSync(dir, { recursive: true, force: true })
}
