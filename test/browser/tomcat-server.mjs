// A real Tomcat 10 (Debian's libtomcat10-java jars, Java 17) on 127.0.0.1 for the servlet-session
// scenarios (j*): the README's SessionTagServlet and SessionTagFilter plus the test app DemoApp
// (test/browser/java/), compiled once per run with javac against Debian's servlet API jar.
// Each scenario gets its own Tomcat: a throwaway CATALINA_BASE (conf/server.xml with one HTTP
// connector on 127.0.0.1 and a free port, no shutdown port, one webapp at '/'), started with
// `java … org.apache.catalina.startup.Bootstrap start` in its own process group (tracked: killed
// at exit on any path), stopped and removed by close(); the next one is already starting in the
// background by then (startTomcat). Only the jars are needed: no tomcat10 service package, no
// catalina.sh.
import { spawn, spawnSync } from 'node:child_process'
import { copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { checkBundle, distDir } from './server.mjs'
import { freePort, killGroup, removeDir, spawnGroup, tempDir, waitFor } from './lib/util.mjs'

const here = dirname(fileURLToPath(import.meta.url))
export const JAVA_SOURCES = join(here, 'java')
const JAVA = '/usr/bin/java'
const JAVAC = '/usr/bin/javac'
const JARS = '/usr/share/java'
/** What Tomcat needs to serve servlets (no JSP, no websocket: the app has neither). */
const TOMCAT_JARS = ['catalina', 'coyote', 'util', 'util-scan', 'api', 'juli', 'servlet-api', 'jaspic-api', 'annotations-api', 'el-api']
  .map((name) => join(JARS, `tomcat10-${name}.jar`))
const INSTALL = 'apt-get install -y --no-install-recommends openjdk-17-jdk-headless libtomcat10-java'

let missing
/** Why the Tomcat scenarios cannot run here, or null. */
export function tomcatMissing() {
  missing ??= (() => {
    for (const file of [JAVA, JAVAC, ...TOMCAT_JARS]) {
      if (!existsSync(file)) return `${file} not found (${INSTALL})`
    }
    const v = spawnSync(JAVAC, ['-version'], { encoding: 'utf8', timeout: 10000 })
    const major = Number(/javac (\d+)/.exec(`${v.stdout}${v.stderr}`)?.[1])
    return major >= 17 ? null : `javac 17 or later needed, found ${JSON.stringify(`${v.stdout}${v.stderr}`.trim())} (${INSTALL})`
  })()
  return missing
}

let webapp
let cookieOnlyWebapp
/** The compiled webapp folder (WEB-INF/classes), built once per run. */
function buildWebapp() {
  webapp ??= new Promise((resolve, reject) => {
    const dir = tempDir('tomcat-webapp')
    const classes = join(dir, 'WEB-INF/classes')
    mkdirSync(classes, { recursive: true })
    const sources = readdirSync(JAVA_SOURCES).filter((f) => f.endsWith('.java')).map((f) => join(JAVA_SOURCES, f))
    const child = spawn(JAVAC, ['--release', '17', '-encoding', 'UTF-8', '-d', classes, '-cp', join(JARS, 'tomcat10-servlet-api.jar'), ...sources], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', (d) => { out += d })
    child.stderr.on('data', (d) => { out += d })
    child.once('error', reject)
    child.once('exit', (code) => (code === 0 ? resolve(dir) : reject(new Error(`javac failed (${code}): ${out.trim().slice(-1500)}`))))
  })
  webapp.catch(() => { webapp = undefined })
  return webapp
}

/** The same app with java/cookie-only/web.xml (<tracking-mode>COOKIE</tracking-mode>) as WEB-INF/web.xml. */
function buildCookieOnlyWebapp() {
  cookieOnlyWebapp ??= buildWebapp().then((classes) => {
    const dir = tempDir('tomcat-webapp-cookie-only')
    cpSync(join(classes, 'WEB-INF'), join(dir, 'WEB-INF'), { recursive: true })
    copyFileSync(join(JAVA_SOURCES, 'cookie-only/web.xml'), join(dir, 'WEB-INF/web.xml'))
    return dir
  })
  cookieOnlyWebapp.catch(() => { cookieOnlyWebapp = undefined })
  return cookieOnlyWebapp
}

/** conf/server.xml: one connector on 127.0.0.1, no shutdown port (-1: stopped by a signal), one context. */
function serverXml(port, docBase) {
  return `<?xml version="1.0" encoding="UTF-8"?>
<Server port="-1" shutdown="SHUTDOWN">
  <Service name="Catalina">
    <Connector address="127.0.0.1" port="${port}" protocol="HTTP/1.1" connectionTimeout="20000" />
    <Engine name="Catalina" defaultHost="localhost">
      <Host name="localhost" appBase="webapps" autoDeploy="false" deployOnStartup="false" unpackWARs="false">
        <Context path="" docBase="${docBase}" reloadable="false">
          <!-- No session persistence across restarts; no scan of the JDK's and Tomcat's own jars. -->
          <Manager pathname="" />
          <JarScanner scanClassPath="false" scanManifest="false" />
        </Context>
      </Host>
    </Engine>
  </Service>
</Server>
`
}

let spare
/**
 * Starts Tomcat with the test app. `secret` is the tag's HMAC key (SESSION_TAG_SECRET); the page
 * and the bundle come from test/browser/page/ and distDir() (VISITSTORE_DIST). Tomcat takes ~2 s
 * to start, so the next scenario's server starts now, while this one runs: the call returns a
 * spare started earlier when there is one. The last spare is killed at exit (a tracked group).
 * `cookieOnly`: the app with <tracking-mode>COOKIE</tracking-mode> (no spare kept for it).
 */
export async function startTomcat({ secret = '', dist = distDir(), cookieOnly = false } = {}) {
  const bundle = checkBundle(dist)
  if (cookieOnly) return launchTomcat(secret, bundle, buildCookieOnlyWebapp)
  const key = JSON.stringify([secret, bundle])
  if (spare && spare.key !== key) spare.server.then((server) => server.close(), () => {})
  const ready = spare?.key === key ? spare.server : launchTomcat(secret, bundle)
  const next = { key, server: ready.then(() => launchTomcat(secret, bundle)) }
  next.server.catch(() => { if (spare === next) spare = undefined })
  spare = next
  return ready
}

/**
 * Begins compiling the app and starting a first Tomcat in the background, without waiting (the
 * runner asks a scenario's `unavailable` just before it launches the browser, so both overlap).
 * A no-op when a spare is already on its way or Tomcat cannot run here.
 */
export function warmTomcat({ secret = '', dist = distDir() } = {}) {
  if (spare || tomcatMissing()) return
  const bundle = checkBundle(dist)
  const mine = { key: JSON.stringify([secret, bundle]), server: launchTomcat(secret, bundle) }
  mine.server.catch(() => { if (spare === mine) spare = undefined })
  spare = mine
}

async function launchTomcat(secret, bundle, build = buildWebapp) {
  const docBase = await build()
  const base = tempDir('tomcat-base')
  for (const sub of ['conf', 'logs', 'temp', 'webapps', 'work']) mkdirSync(join(base, sub))
  const port = await freePort()
  writeFileSync(join(base, 'conf/server.xml'), serverXml(port, docBase))
  // Empty loaders: Bootstrap then uses the class path given here (Debian's jars), no $CATALINA_HOME/lib.
  writeFileSync(join(base, 'conf/catalina.properties'), 'common.loader=\nserver.loader=\nshared.loader=\n')
  // Warnings and errors only; not the note that making the session-ID SecureRandom took >100 ms.
  writeFileSync(join(base, 'conf/logging.properties'), 'handlers=java.util.logging.ConsoleHandler\n.level=WARNING\n' +
    'java.util.logging.ConsoleHandler.level=ALL\norg.apache.catalina.util.SessionIdGeneratorBase.level=SEVERE\n')
  const { child, output, exited } = spawnGroup(JAVA, [
    // A short-lived test server: start fast rather than run fast.
    '-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC', '-Xss512k', '-Djava.awt.headless=true', '-Djava.security.egd=file:/dev/./urandom',
    `-Dcatalina.base=${base}`, `-Dcatalina.home=${base}`, `-Djava.io.tmpdir=${join(base, 'temp')}`,
    `-Djava.util.logging.config.file=${join(base, 'conf/logging.properties')}`,
    '-cp', TOMCAT_JARS.join(':'), 'org.apache.catalina.startup.Bootstrap', 'start',
  ], {
    cwd: base,
    env: {
      ...process.env,
      SESSION_TAG_SECRET: secret,
      VISITSTORE_IIFE: bundle,
      VISITSTORE_PAGE_DIR: join(here, 'page'),
    },
  })
  const origin = `http://127.0.0.1:${port}`
  const started = Date.now()
  const stop = async () => {
    // SIGTERM runs Catalina's shutdown hook; a hung JVM is killed.
    killGroup(child.pid, 'SIGTERM')
    await waitFor(exited, 5000, 'Tomcat exit').catch(() => killGroup(child.pid))
    try {
      removeDir(base)
    } catch {
      // Removed at exit instead.
    }
  }
  try {
    await waitFor(async () => {
      if (exited()) throw new Error(`Tomcat exited: ${output().trim()}`)
      try {
        return (await fetch(`${origin}/helpers.js`)).ok
      } catch {
        return false
      }
    }, 20000, 'Tomcat start', 25)
  } catch (err) {
    await stop()
    throw err
  }
  const getJson = async (path) => (await fetch(`${origin}${path}`, { cache: 'no-store' })).json()
  return {
    origin,
    url: (path = '/') => `${origin}${path}`,
    /** Milliseconds from spawning the JVM to the first answer. */
    startMs: Date.now() - started,
    /** Every session ID the server made or rotated to (DemoApp's listener), oldest first. */
    ids: () => getJson('/test/ids'),
    /** Every request as "METHOD /path tab". */
    log: () => getJson('/test/log'),
    /** The last 4,000 characters of Tomcat's output (warnings and errors only). */
    output,
    close: stop,
  }
}
