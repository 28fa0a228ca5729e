#!/usr/bin/python3
# A minimal WebKitGTK browser with a persistent profile, for the restart scenario: MiniBrowser
# --automation always uses an ephemeral session, so nothing would survive its restart.
# WebKitWebDriver starts it (binary /usr/bin/python3, args [this file, --profile=DIR]).
# Needs: apt-get install -y --no-install-recommends python3-gi gir1.2-webkit2-4.1 gir1.2-gtk-3.0
import os
import sys

import gi
gi.require_version('Gtk', '3.0')
gi.require_version('WebKit2', '4.1')
from gi.repository import Gtk, WebKit2  # noqa: E402

profile = next((a.split('=', 1)[1] for a in sys.argv[1:] if a.startswith('--profile=')), None)
if not profile:
    sys.exit('wkbrowser.py: --profile=DIR is required')
os.makedirs(profile, exist_ok=True)
# The runner waits for this pid to exit before relaunching on the same profile.
with open(os.path.join(profile, 'wkbrowser.pid'), 'w') as f:
    f.write(str(os.getpid()))

data = WebKit2.WebsiteDataManager(base_data_directory=os.path.join(profile, 'data'),
                                  base_cache_directory=os.path.join(profile, 'cache'))
context = WebKit2.WebContext.new_with_website_data_manager(data)
data.get_cookie_manager().set_persistent_storage(os.path.join(profile, 'cookies.sqlite'),
                                                 WebKit2.CookiePersistentStorage.SQLITE)
context.set_automation_allowed(True)
windows = []


def on_close(view):
    window = view.get_toplevel()
    windows.remove(window)
    window.destroy()
    if not windows:  # the last tab closed by deleteSession: exit cleanly, flushing the profile
        Gtk.main_quit()


def new_view(*_):
    view = WebKit2.WebView(web_context=context, is_controlled_by_automation=True)
    window = Gtk.Window()
    window.add(view)
    window.show_all()
    windows.append(window)
    view.connect('close', on_close)
    return view


def on_automation_started(_context, session):
    info = WebKit2.ApplicationInfo()
    info.set_name('wkbrowser')
    info.set_version(1, 0, 0)
    session.set_application_info(info)
    session.connect('create-web-view', new_view)


context.connect('automation-started', on_automation_started)
Gtk.main()
