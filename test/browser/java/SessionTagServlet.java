import jakarta.servlet.annotation.WebServlet;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import jakarta.servlet.http.HttpSession;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.Base64;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/** visitstore's session endpoint: GET answers {"tag", "expiresAt", "anonymous"}; DELETE ends the session. */
@WebServlet("/session")
public class SessionTagServlet extends HttpServlet {
  private static final String SECRET = System.getenv("SESSION_TAG_SECRET"); // ≥ 32 characters, server-only

  /** base64url(HMAC-SHA-256(secret, sessionId)) without padding: sessionTag() of visitstore/server. */
  public static String tag(String sessionId) {
    if (SECRET == null || SECRET.length() < 32) throw new IllegalStateException("SESSION_TAG_SECRET: at least 32 characters");
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(SECRET.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
      byte[] hmac = mac.doFinal(sessionId.getBytes(StandardCharsets.UTF_8));
      return Base64.getUrlEncoder().withoutPadding().encodeToString(hmac);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  protected void doGet(HttpServletRequest req, HttpServletResponse res) throws IOException {
    HttpSession session = req.getSession(false); // never create a session here
    String json = "{\"tag\":null}";
    if (session != null) {
      json = "{\"tag\":\"" + tag(session.getId()) + "\"";
      // getSession() has just restarted the idle time-out.
      if (session.getMaxInactiveInterval() > 0) json += ",\"expiresAt\":" + (System.currentTimeMillis() + session.getMaxInactiveInterval() * 1000L);
      json += ",\"anonymous\":" + (session.getAttribute("user") == null) + "}"; // "user": your app's signed-in user
    }
    send(res, json);
  }

  @Override
  protected void doDelete(HttpServletRequest req, HttpServletResponse res) throws IOException {
    HttpSession session = req.getSession(false);
    if (session != null) session.invalidate();
    send(res, "{\"tag\":null}");
  }

  private static void send(HttpServletResponse res, String json) throws IOException {
    res.setContentType("application/json");
    res.setHeader("Cache-Control", "no-store"); // a cached answer would hide a login or logout
    res.getWriter().write(json);
  }
}
