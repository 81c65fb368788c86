#!/usr/bin/python3
"""Drive and inspect a GTK app through AT-SPI, for Hangar's UI tests.

Run with /usr/bin/python3 (Debian's pyatspi), inside the desktop that
tests/testbed/desktop.sh starts (DISPLAY, AT_SPI_BUS_ADDRESS set).

  atspi.py wait-names [--pid PID] [--hidden] APP TIMEOUT NAME...
  atspi.py dump [--pid PID] APP
  atspi.py click [--pid PID] [--role ROLE] [--timeout S] APP NAME
  atspi.py extents [--pid PID] [--role ROLE] [--timeout S] APP NAME
  atspi.py type TEXT
  atspi.py key KEY...            (xdotool key names: Return, ctrl+n, Tab...)
  atspi.py audit [--pid PID] [--window TITLE] APP
  atspi.py rows [--pid PID] APP LIST

APP is the application's accessible name (GTK uses the application name or
the program name), compared case-insensitively; "*" means any application.
With --pid PID the application is picked by process id instead, whatever its
name.

An element matches NAME when NAME equals its accessible name (or, for a list
item named as a sentence, one of its comma-separated parts), its
description (GTK 4.8 exposes an icon-only button's tooltip there and names it
"GtkImage" unless it has an accessible label) or its text content. Only
elements on screen count: with a non-empty area once clipped by their
ancestors (GTK 4.8 also exposes list rows scrolled out of view) and, inside a
stack, on the page the stack shows (GTK 4.8 exposes every page, a page shown
earlier even with its old extents). wait-names --hidden counts them all.

click waits up to --timeout for the element, then clicks the centre of its
visible part with the pointer (xdotool), in its window or popover. As for a
user, a click outside an open popover only closes it: send `key Escape` first.
extents waits the same way and prints where its visible part is on the screen:
"X Y WIDTH HEIGHT".

audit reads every element of the app's windows (or of the window called TITLE), shown
or not, and prints one line per interactive element (button, entry, check box, list
item, menu item...) that has no name, GTK's fallback name (its type, "GtkToggleButton"),
or an underscore left from a mnemonic ("_Retry"); exit status 1 if there is one.
rows prints the names of the rows of the list called LIST that are on screen, one per
line, and on stderr the time it took to find the list and to read them.

Results go to stdout, diagnostics to stderr. Exit status: 0 success,
1 timeout / not found, 2 usage error.
"""

import argparse
import subprocess
import sys
import time

import pyatspi  # noqa: F401  (initialises libatspi)
from gi.repository import Atspi, GLib

import a11y_checks

# Bounds so a huge list or a wedged app cannot hang a test.
MAX_DEPTH = 60
MAX_CHILDREN = 300
MAX_NODES = 5000
MAX_DUMP_LINES = 200
POLL_SECONDS = 0.2

Atspi.set_timeout(3000, 10000)  # ms per call, ms for a starting app


# GTK 4.8 reports a popover's extents as if it sat at its parent's origin, although it is
# a separate X window (and not clipped by its parent). Recognised by the fallback name
# GTK gives unlabelled popovers, or the menu role of GtkPopoverMenu.
POPOVER_NAMES = ("GtkPopover", "GtkPopoverMenu", "GtkEmojiChooser")


class Node:
    def __init__(self, acc, depth, parent, role, name, rect):
        self.acc, self.depth, self.parent, self.role = acc, depth, parent, role
        self.name, self.rect = name, rect
        self.desc = self.text = ""  # read later, only when needed
        # Own surface: toplevel window or popover. Extents are relative to it.
        self.native = depth == 1 or name in POPOVER_NAMES or role == "menu"
        # Visible area (x0, y0, x1, y1): own extents clipped by the ancestors' (scrolled
        # lists, stack pages) up to the surface; None if there is none or it is empty.
        self.clip = parent.clip if parent is not None else None
        self.on_screen = parent.on_screen if parent is not None else True
        if rect is not None:
            box = (rect.x, rect.y, rect.x + rect.width, rect.y + rect.height)
            self.clip = intersect(box, box if self.native or self.clip is None else self.clip)
            self.on_screen = self.on_screen and self.clip is not None

    def labels(self):
        found = {s for s in (self.name, self.desc, self.text) if s}
        if self.role == "list item":
            # A row named as a sentence ("gitea, Running, 2 vCPUs") reads as its parts too,
            # as its labels read on screen.
            found |= set(self.name.split(", "))
        return found

    def surface(self):
        node = self
        while not node.native and node.parent is not None:
            node = node.parent
        return node

    def line(self):
        s = f"{self.role}: {self.name!r}"
        if self.desc:
            s += f" desc={self.desc!r}"
        if self.text and self.text != self.name:
            s += f" text={self.text!r}"
        if not self.on_screen:
            s += " (hidden)"
        return s


def intersect(a, b):
    box = (max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3]))
    return box if box[0] < box[2] and box[1] < box[3] else None


def pump():
    """Let libatspi process registry/cache events queued on its D-Bus connection."""
    ctx = GLib.MainContext.default()
    while ctx.pending():
        ctx.iteration(False)


def find_apps(app_name, pid):
    pump()
    desktop = Atspi.get_desktop(0)
    apps = []
    for i in range(desktop.get_child_count()):
        try:
            app = desktop.get_child_at_index(i)
            if app is None:
                continue
            if pid is not None:
                if app.get_process_id() != pid:
                    continue
            elif app_name != "*" and (app.get_name() or "").lower() != app_name.lower():
                continue
            # Ask the app every time instead of trusting libatspi's cache.
            app.set_cache_mask(Atspi.Cache.NONE)
            app.clear_cache()
            apps.append(app)
        except GLib.Error:
            continue  # app went away while we looked
    return apps


def describe_apps():
    pump()
    desktop = Atspi.get_desktop(0)
    out = []
    for i in range(desktop.get_child_count()):
        try:
            app = desktop.get_child_at_index(i)
            out.append(f"{app.get_name()!r} (pid {app.get_process_id()})")
        except (GLib.Error, AttributeError):
            pass
    return ", ".join(out) or "none"


def text_of(acc, ifaces):
    # GTK 4.8 returns '' for GetText(0, -1): ask for the exact character count.
    if "Text" not in ifaces:
        return ""
    n = Atspi.Text.get_character_count(acc)
    return Atspi.Text.get_text(acc, 0, n) if n > 0 else ""


def extents_of(acc, ifaces):
    # WINDOW, not SCREEN: GTK 4 only knows surface-relative positions and logs a warning
    # for every SCREEN query. surface_offset() adds the X window's position.
    if "Component" not in ifaces:
        return None
    return Atspi.Component.get_extents(acc, Atspi.CoordType.WINDOW)


def page_is_shown(page, stack):
    """Whether a stack page (GtkStackPage: no extents of its own) is the one on screen.

    GTK 4.8 keeps a page that was shown before with its old extents, so ask the stack
    which element is at the centre of the page's content and see whose it is.
    """
    if page.get_child_count() == 0 or stack.clip is None:
        return True
    content = page.get_child_at_index(0)
    rect = extents_of(content, content.get_interfaces())
    if rect is None:
        return True
    box = intersect(stack.clip, (rect.x, rect.y, rect.x + rect.width, rect.y + rect.height))
    if box is None:
        return False
    hit = Atspi.Component.get_accessible_at_point(
        stack.acc, (box[0] + box[2]) // 2, (box[1] + box[3]) // 2, Atspi.CoordType.WINDOW)
    for _ in range(MAX_DEPTH):
        if hit is None:
            return True  # nothing to go by
        if hit == stack.acc:
            return False  # no page there at all
        up = hit.get_parent()
        if up == stack.acc:
            return hit == page
        hit = up
    return True


def read_node(acc, depth, parent, hidden):
    ifaces = acc.get_interfaces()
    node = Node(acc, depth, parent, acc.get_role_name(), acc.get_name() or "",
                extents_of(acc, ifaces))
    if node.rect is None and node.on_screen and parent is not None and parent.rect is not None:
        node.on_screen = page_is_shown(acc, parent)
    # No SHOWING check on windows: GTK 4.8 leaves it off dialogs that are on screen, and
    # does not expose unmapped windows at all.
    if node.on_screen or hidden:
        node.desc = acc.get_description() or ""
        node.text = text_of(acc, ifaces)
    return node


def walk(apps, hidden=False, deadline=None):
    """Depth-first list of Nodes under the given applications, bounded.

    Off-screen subtrees are not entered unless hidden is true: every property is a
    round trip to the app, about 1 ms each, so a long list is slow.
    """
    nodes = []
    stack = [(app, 0, None) for app in reversed(apps)]
    while stack and len(nodes) < MAX_NODES:
        if deadline is not None and time.monotonic() > deadline:
            break
        acc, depth, parent = stack.pop()
        try:
            node = read_node(acc, depth, parent, hidden)
            count = 0
            if depth < MAX_DEPTH and (node.on_screen or hidden):
                count = min(acc.get_child_count(), MAX_CHILDREN)
            children = [acc.get_child_at_index(i) for i in range(count)]
        except GLib.Error:
            continue  # element destroyed mid-walk
        nodes.append(node)
        for child in reversed(children):
            if child is not None:
                stack.append((child, depth + 1, node))
    return nodes


def poll(app_name, pid, timeout, done, hidden=False):
    """Walk the app's tree until done(nodes) is true or timeout; return (ok, nodes, apps)."""
    deadline = time.monotonic() + timeout
    while True:
        last = time.monotonic() >= deadline
        apps = find_apps(app_name, pid)
        # Walks give up at the deadline, except the last, which the verdict and the
        # failure dump come from.
        nodes = walk(apps, hidden, None if last else deadline) if apps else []
        if apps and done(nodes):
            return True, nodes, apps
        if last:
            return False, nodes, apps
        time.sleep(POLL_SECONDS)


def print_flat(nodes, out):
    for node in nodes[:MAX_DUMP_LINES]:
        print(node.line(), file=out)
    if len(nodes) > MAX_DUMP_LINES:
        print(f"... {len(nodes) - MAX_DUMP_LINES} more", file=out)


def cmd_wait_names(args):
    wanted = set(args.names)

    def found_in(nodes):
        seen = set()
        for n in nodes:
            if n.on_screen or args.hidden:
                seen |= n.labels() & wanted
        return seen

    ok, nodes, apps = poll(args.app, args.pid, args.timeout, lambda ns: found_in(ns) == wanted,
                           args.hidden)
    found = found_in(nodes)
    if ok:
        for name in args.names:
            print(name)
        return 0
    if not apps:
        print(f"atspi.py: no application {args.app!r} after {args.timeout}s; "
              f"registered: {describe_apps()}", file=sys.stderr)
        return 1
    missing = [n for n in args.names if n not in found]
    print(f"atspi.py: timed out after {args.timeout}s; missing: {missing}; "
          f"found: {sorted(found)}", file=sys.stderr)
    print_flat(nodes, sys.stdout)
    return 1


def cmd_wait_gone(args):
    """Waits until no --absent name is on screen while every --present one is, in the same
    walk: a crashed app or a reader that sees nothing finds no present name, so it never
    passes for an absence."""
    present, absent = set(args.present), set(args.absent)

    def on_screen(nodes):
        seen = set()
        for n in nodes:
            if n.on_screen:
                seen |= n.labels()
        return seen

    def done(nodes):
        seen = on_screen(nodes)
        return present <= seen and not (absent & seen)

    ok, nodes, apps = poll(args.app, args.pid, args.timeout, done)
    if ok:
        return 0
    if not apps:
        print(f"atspi.py: no application {args.app!r} after {args.timeout}s (crashed?); "
              f"registered: {describe_apps()}", file=sys.stderr)
        return 1
    seen = on_screen(nodes)
    print(f"atspi.py: after {args.timeout}s still shown: {sorted(absent & seen)}; "
          f"present missing: {sorted(present - seen)}", file=sys.stderr)
    print_flat(nodes, sys.stdout)
    return 1


def cmd_dump(args):
    apps = find_apps(args.app, args.pid)
    if not apps:
        print(f"atspi.py: no application {args.app!r}; registered: {describe_apps()}",
              file=sys.stderr)
        return 1
    for node in walk(apps, hidden=True):
        print("  " * node.depth + node.line())
    return 0


def x_windows(pid):
    """Visible X windows of pid as (title, x, y, width, height)."""
    def xdotool(*args):
        return subprocess.run(["xdotool", *args], capture_output=True, text=True,
                              timeout=10).stdout

    wins = []
    for wid in xdotool("search", "--onlyvisible", "--pid", str(pid)).split():
        geo = xdotool("getwindowgeometry", "--shell", wid).split()
        geo = dict(line.split("=", 1) for line in geo if "=" in line)
        try:
            wins.append((xdotool("getwindowname", wid).strip(), int(geo["X"]), int(geo["Y"]),
                         int(geo["WIDTH"]), int(geo["HEIGHT"])))
        except (KeyError, ValueError):
            pass
    return wins


def surface_offset(node, pid):
    """Screen position of node's surface minus the position GTK reports for it.

    Finds the surface's X window: a toplevel by title, a popover by size.
    """
    surface = node.surface()
    if surface.rect is None:
        return 0, 0
    r = surface.rect
    wins = x_windows(pid)
    if surface.depth == 1:
        candidates = [w for w in wins if w[0] == surface.name]
    else:
        candidates = [w for w in wins if (w[3], w[4]) == (r.width, r.height)]
    if not candidates:
        print(f"atspi.py: no X window for {surface.line()}; assuming (0,0)", file=sys.stderr)
        return 0, 0
    _, x, y, _, _ = candidates[0]
    return x - r.x, y - r.y


def find_on_screen(args):
    """The first on-screen element called args.name (of args.role), waiting up to
    args.timeout; None (with the reason on stderr) if there is none."""
    def target(nodes):
        for n in nodes:
            if (n.on_screen and args.name in n.labels()
                    and (args.role is None or n.role == args.role)):
                return n
        return None

    ok, nodes, _ = poll(args.app, args.pid, args.timeout, lambda ns: target(ns) is not None)
    if not ok:
        print(f"atspi.py: no on-screen element {args.name!r} in {args.app!r} after "
              f"{args.timeout}s; registered: {describe_apps()}", file=sys.stderr)
        print_flat(nodes, sys.stdout)
        return None
    return target(nodes)


def screen_box(node):
    """The visible part of node in screen coordinates: (x0, y0, x1, y1)."""
    dx, dy = surface_offset(node, node.acc.get_process_id())
    x0, y0, x1, y1 = node.clip
    return dx + x0, dy + y0, dx + x1, dy + y1


def cmd_extents(args):
    node = find_on_screen(args)
    if node is None:
        return 1
    x0, y0, x1, y1 = screen_box(node)
    print(f"{x0} {y0} {x1 - x0} {y1 - y0}")
    return 0


def cmd_click(args):
    node = find_on_screen(args)
    if node is None:
        return 1
    x0, y0, x1, y1 = screen_box(node)  # centre of the visible part
    x, y = (x0 + x1) // 2, (y0 + y1) // 2
    # Pointer click rather than an AT-SPI action: GTK 4.8 list rows have none.
    subprocess.run(["xdotool", "mousemove", str(x), str(y), "click", "1"], check=True)
    print(f"clicked {node.line()} at {x},{y}")
    return 0


def cmd_type(args):
    subprocess.run(["xdotool", "type", "--delay", "20", "--", args.text], check=True)
    return 0


def cmd_audit(args):
    apps = find_apps(args.app, args.pid)
    if not apps:
        print(f"atspi.py: no application {args.app!r}; registered: {describe_apps()}",
              file=sys.stderr)
        return 1
    problems, windows = [], []
    for app in apps:
        for i in range(app.get_child_count()):
            window = app.get_child_at_index(i)
            title = (window.get_name() or "") if window is not None else ""
            if window is None or args.window not in (None, title):
                continue
            windows.append(title)
            problems += a11y_checks.window_problems(window)
    if not windows:
        print(f"atspi.py: no window {args.window!r}", file=sys.stderr)
        return 1
    print(f"audited windows: {windows}", file=sys.stderr)
    for line in problems:
        print(line)
    return 1 if problems else 0


def cmd_rows(args):
    started = time.monotonic()
    target = None
    for app in find_apps(args.app, args.pid):
        target = a11y_checks.find_list(app, args.list)
        if target is not None:
            break
    if target is None:
        print(f"atspi.py: no list {args.list!r}", file=sys.stderr)
        return 1
    found = time.monotonic()
    names, count = a11y_checks.rows_on_screen(target)
    done = time.monotonic()
    for name in names:
        print(name)
    print(f"rows: {len(names)} rows on screen of {count} exposed; found the list in "
          f"{(found - started) * 1000:.0f} ms, read the rows in {(done - found) * 1000:.0f} ms",
          file=sys.stderr)
    return 0


def cmd_key(args):
    subprocess.run(["xdotool", "key", "--delay", "20", "--"] + args.keys, check=True)
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--pid", type=int, help="pick the application by process id, not APP")

    p = sub.add_parser("wait-names", parents=[common])
    p.add_argument("--hidden", action="store_true", help="also count elements not on screen")
    p.add_argument("app")
    p.add_argument("timeout", type=float)
    p.add_argument("names", nargs="+")
    p.set_defaults(func=cmd_wait_names)

    p = sub.add_parser("wait-gone", parents=[common])
    p.add_argument("app")
    p.add_argument("timeout", type=float)
    p.add_argument("--present", nargs="+", required=True,
                   help="names that must be on screen in the same walk (proof of life)")
    p.add_argument("--absent", nargs="+", required=True, help="names that must not be")
    p.set_defaults(func=cmd_wait_gone)

    p = sub.add_parser("dump", parents=[common])
    p.add_argument("app")
    p.set_defaults(func=cmd_dump)

    p = sub.add_parser("click", parents=[common])
    p.add_argument("--role", help="AT-SPI role name, e.g. 'push button', 'list item'")
    p.add_argument("--timeout", type=float, default=10, help="seconds to wait for it")
    p.add_argument("app")
    p.add_argument("name")
    p.set_defaults(func=cmd_click)

    p = sub.add_parser("extents", parents=[common])
    p.add_argument("--role", help="AT-SPI role name, e.g. 'push button', 'list item'")
    p.add_argument("--timeout", type=float, default=10, help="seconds to wait for it")
    p.add_argument("app")
    p.add_argument("name")
    p.set_defaults(func=cmd_extents)

    p = sub.add_parser("type")
    p.add_argument("text")
    p.set_defaults(func=cmd_type)

    p = sub.add_parser("key")
    p.add_argument("keys", nargs="+")
    p.set_defaults(func=cmd_key)

    p = sub.add_parser("audit", parents=[common])
    p.add_argument("--window", help="only the window with this title")
    p.add_argument("app")
    p.set_defaults(func=cmd_audit)

    p = sub.add_parser("rows", parents=[common])
    p.add_argument("app")
    p.add_argument("list", help="the list's accessible name, e.g. 'Virtual Machines'")
    p.set_defaults(func=cmd_rows)

    args = parser.parse_args()
    sys.exit(args.func(args))


if __name__ == "__main__":
    main()
