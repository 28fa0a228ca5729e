import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.annotation.WebFilter;
import jakarta.servlet.http.HttpFilter;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import jakarta.servlet.http.HttpSession;
import java.io.IOException;

/** Adds X-Session-Tag (the session's tag, empty with no session) to every response, for sessionSync({ header }). */
@WebFilter("/*")
public class SessionTagFilter extends HttpFilter {
  @Override
  protected void doFilter(HttpServletRequest req, HttpServletResponse res, FilterChain chain) throws IOException, ServletException {
    setTag(req, res); // in case the response is committed early (a large body)
    chain.doFilter(req, res);
    if (!res.isCommitted()) setTag(req, res); // the session as the request left it (login, logout)
  }

  private static void setTag(HttpServletRequest req, HttpServletResponse res) {
    HttpSession session = req.getSession(false); // never create a session here
    res.setHeader("X-Session-Tag", session == null ? "" : SessionTagServlet.tag(session.getId()));
  }
}
