// PHP's built-in server on 127.0.0.1 for the PHP session scenarios: docroot test/browser/php/, its
// router serving the test page and the BUILT bundle, native sessions in a temp save path. Runs in
// its own process group (tracked: killed at exit on any path); one server per scenario.
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { checkBundle, distDir } from './server.mjs'
import { freePort, killGroup, removeDir, spawnGroup, tempDir, waitFor } from './lib/util.mjs'

export const PHP = '/usr/bin/php'
const here = dirname(fileURLToPath(import.meta.url))
export const DOCROOT = join(here, 'php')

/** Why the PHP scenarios cannot run here, or null. */
export function phpMissing() {
  return existsSync(PHP) ? null : `${PHP} not found (apt-get install -y --no-install-recommends php-cli)`
}

/** The plain-PHP endpoint of README.md ("The endpoint in plain PHP"), as README.md shows it. */
export function readmePhpEndpoint() {
  const readme = readFileSync(join(here, '../../README.md'), 'utf8')
  const m = /### The endpoint in plain PHP[^]*?```php\n([^]*?)```/.exec(readme)
  return m ? m[1] : null
}

export async function startPhpServer({ secret, dist = distDir() } = {}) {
  const bundle = checkBundle(dist)
  const port = await freePort()
  const sessions = tempDir('php-sessions')
  const { child, output, exited } = spawnGroup(PHP, [
    // PHP's defaults, stated: a script-readable PHPSESSID (HttpOnly off), sessions kept in files.
    '-d', 'session.cookie_httponly=0', '-d', 'session.use_cookies=1', '-d', 'session.use_only_cookies=1',
    '-d', `session.save_path=${sessions}`, '-d', 'display_errors=stderr', '-d', 'log_errors=0',
    '-S', `127.0.0.1:${port}`, '-t', DOCROOT, join(DOCROOT, 'router.php'),
  ], {
    cwd: DOCROOT,
    env: {
      ...process.env,
      SESSION_TAG_SECRET: secret ?? '',
      VISITSTORE_IIFE: bundle,
      VISITSTORE_PAGE: join(here, 'page/page.html'),
      VISITSTORE_HELPERS: join(here, 'page/helpers.js'),
    },
  })
  const origin = `http://127.0.0.1:${port}`
  try {
    await waitFor(async () => {
      if (exited()) throw new Error(`php -S exited: ${output().trim()}`)
      try {
        return (await fetch(`${origin}/helpers.js`)).ok
      } catch {
        return false
      }
    }, 10000, 'php -S start')
  } catch (err) {
    killGroup(child.pid)
    throw err
  }
  return {
    origin,
    url: (path = '/') => `${origin}${path}`,
    /** The last 4,000 characters of the server's output (its access log, PHP errors). */
    output,
    close: async () => {
      killGroup(child.pid, 'SIGTERM')
      await waitFor(exited, 3000, 'php -S exit').catch(() => killGroup(child.pid))
      try {
        removeDir(sessions)
      } catch {
        // Removed at exit instead.
      }
    },
  }
}
