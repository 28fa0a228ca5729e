import jakarta.servlet.ServletRequestEvent;
import jakarta.servlet.ServletRequestListener;
import jakarta.servlet.annotation.WebListener;
import jakarta.servlet.annotation.WebServlet;
import jakarta.servlet.http.Cookie;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import jakarta.servlet.http.HttpSession;
import jakarta.servlet.http.HttpSessionEvent;
import jakarta.servlet.http.HttpSessionIdListener;
import jakarta.servlet.http.HttpSessionListener;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The test app around the README's SessionTagServlet and SessionTagFilter (test/browser/tomcat-server.mjs
 * starts it). Not for production: /test/* shows raw session IDs to the test.
 *
 *   GET  /, any folder, /page.html, /pre.js, /helpers.js, /visitstore.iife.js   the test page and the BUILT bundle
 *   POST /login?user=NAME   a new session, or changeSessionId() on the current one; then user = NAME
 *   POST /visit             an anonymous session (no user)
 *   POST /rotate            changeSessionId() (the user stays)
 *   POST /logout            invalidate()
 *   GET  /api/data          an ordinary API answer (the filter adds X-Session-Tag)
 *   GET  /start?tab=N       creates a session and redirects to encodeRedirectURL("/?tab=N"): ";jsessionid=" when
 *                           the ID did not come from a cookie
 *   GET  /test/ids          every session ID this server made or rotated to, oldest first
 *   GET  /test/log          every request: "METHOD /path tab" (tab from ?tab=N of the Referer)
 *   POST /test/forget       expires the browser's JSESSIONID (HttpOnly: the page cannot), left by an earlier scenario
 *                           (cookies are shared by every port of 127.0.0.1)
 */
@WebServlet("/")
public class DemoApp extends HttpServlet {
  static final List<String> IDS = new CopyOnWriteArrayList<>();
  static final List<String> LOG = new CopyOnWriteArrayList<>();
  private static final Path PAGE_DIR = Path.of(System.getenv("VISITSTORE_PAGE_DIR"));
  private static final Path BUNDLE = Path.of(System.getenv("VISITSTORE_IIFE"));
  private static final Pattern TAB = Pattern.compile("[?&]tab=(\\w+)");
  private static final Pattern FILE = Pattern.compile("/([\\w.-]+\\.(js|html))$");

  /** Records the session IDs (the browser cannot read them: JSESSIONID is HttpOnly) and the requests. */
  @WebListener
  public static class Recorder implements HttpSessionListener, HttpSessionIdListener, ServletRequestListener {
    @Override
    public void sessionCreated(HttpSessionEvent event) {
      IDS.add(event.getSession().getId());
    }

    @Override
    public void sessionIdChanged(HttpSessionEvent event, String oldId) {
      IDS.add(event.getSession().getId());
    }

    @Override
    public void requestInitialized(ServletRequestEvent event) {
      HttpServletRequest req = (HttpServletRequest) event.getServletRequest();
      String referer = req.getHeader("Referer");
      Matcher tab = TAB.matcher(referer == null ? "" : referer);
      LOG.add(req.getMethod() + " " + req.getServletPath() + " " + (tab.find() ? tab.group(1) : "-"));
    }
  }

  @Override
  protected void doGet(HttpServletRequest req, HttpServletResponse res) throws IOException {
    String path = req.getServletPath();
    HttpSession session = req.getSession(false);
    switch (path) {
      case "/api/data" -> json(res, "{\"user\":" + quote(session == null ? null : (String) session.getAttribute("user")) + "}");
      case "/start" -> {
        req.getSession(true);
        String tab = req.getParameter("tab");
        res.sendRedirect(res.encodeRedirectURL("/?tab=" + (tab == null ? "1" : tab.replaceAll("\\W", ""))));
      }
      case "/test/ids" -> json(res, list(IDS));
      case "/test/log" -> json(res, list(LOG));
      case "/visitstore.iife.js" -> file(res, BUNDLE, "text/javascript");
      case "/favicon.ico" -> res.setStatus(204);
      default -> {
        Matcher m = FILE.matcher(path);
        if (path.endsWith("/")) file(res, PAGE_DIR.resolve("page.html"), "text/html");
        else if (m.find() && Files.isRegularFile(PAGE_DIR.resolve(m.group(1)))) {
          file(res, PAGE_DIR.resolve(m.group(1)), m.group(2).equals("js") ? "text/javascript" : "text/html");
        } else res.sendError(404);
      }
    }
  }

  @Override
  protected void doPost(HttpServletRequest req, HttpServletResponse res) throws IOException {
    HttpSession session = req.getSession(false);
    switch (req.getServletPath()) {
      case "/login" -> {
        String user = req.getParameter("user");
        if (user == null || !user.matches("\\w+")) user = "someone";
        if (session == null) session = req.getSession(true); // a new session: a new ID
        else req.changeSessionId(); // same session, new ID: no fixation, and a new tag
        session.setAttribute("user", user);
        json(res, "{\"user\":" + quote(user) + "}");
      }
      case "/visit" -> {
        req.getSession(true);
        json(res, "{\"visitor\":true}");
      }
      case "/rotate" -> {
        if (session == null) res.sendError(409);
        else {
          req.changeSessionId();
          json(res, "{\"rotated\":true}");
        }
      }
      case "/logout" -> {
        if (session != null) session.invalidate();
        json(res, "{\"user\":null}");
      }
      case "/test/forget" -> {
        Cookie gone = new Cookie("JSESSIONID", "");
        gone.setPath("/");
        gone.setMaxAge(0);
        gone.setHttpOnly(true);
        res.addCookie(gone);
        json(res, "{\"forgotten\":true}");
      }
      default -> res.sendError(404);
    }
  }

  private static String quote(String s) {
    return s == null ? "null" : "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
  }

  private static String list(List<String> items) {
    return "[" + String.join(",", items.stream().map(DemoApp::quote).toList()) + "]";
  }

  private static void json(HttpServletResponse res, String body) throws IOException {
    res.setContentType("application/json");
    res.setHeader("Cache-Control", "no-store");
    res.getWriter().write(body);
  }

  private static void file(HttpServletResponse res, Path file, String type) throws IOException {
    res.setContentType(type + "; charset=utf-8");
    res.setHeader("Cache-Control", "no-store");
    res.getOutputStream().write(Files.readAllBytes(file));
  }
}
