"""Accessibility checks for tests/ui/atspi.py: audit a window, read a list's rows.

Kept apart from atspi.py to keep each file short; see atspi.py for how to run them.
"""

import gi

gi.require_version("Atspi", "2.0")
from gi.repository import Atspi, GLib  # noqa: E402  (after the version is set)

# Bounds so a huge list or a wedged app cannot hang a test (as in atspi.py).
MAX_DEPTH = 60
MAX_CHILDREN = 300
MAX_NODES = 5000


# Roles a user acts on, which a screen reader must be able to name.
INTERACTIVE_ROLES = {
    "push button", "toggle button", "check box", "radio button", "entry", "password text",
    "combo box", "list item", "menu item", "check menu item", "radio menu item", "switch",
    "spin button", "link", "page tab", "slider",
}


def fallback_name(name):
    """GTK 4.8 names an element after its type when nothing else names it."""
    return len(name) > 3 and name[:3] in ("Gtk", "Adw") and name[3].isupper() and " " not in name


def iter_tree(root, skip_roles=()):
    """Yields (depth, role, name, accessible) for root and everything under it, depth first.

    Only role, name and children are asked: each is one quick round trip, where the
    interface list (read_node) costs GTK 4.8 several milliseconds. Children of elements
    whose role is in skip_roles are not visited.
    """
    stack, seen = [(root, 0)], 0
    while stack and seen < MAX_NODES:
        acc, level = stack.pop()
        try:
            role, name = acc.get_role_name(), acc.get_name() or ""
            count = 0
            if level < MAX_DEPTH and role not in skip_roles:
                count = min(acc.get_child_count(), MAX_CHILDREN)
            children = [acc.get_child_at_index(i) for i in range(count)]
        except GLib.Error:
            continue
        seen += 1
        yield level, role, name, acc
        stack.extend((child, level + 1) for child in reversed(children) if child is not None)


def audit_problem(index, nodes):
    level, role, name, _ = nodes[index]
    if role not in INTERACTIVE_ROLES:
        return None
    if not name.strip() or fallback_name(name):
        return "no name"
    if "_" in name:
        # Fine when the underscore is shown: some text inside the element has it too.
        shown = set()
        for deeper, _, text, _ in nodes[index + 1:]:
            if deeper <= level:
                break
            shown.add(text)
        if not any("_" in text and text in name for text in shown):
            return "mnemonic underscore in the name"
    return None


def ancestors(nodes, index):
    """Names of the nearest named ancestors of nodes[index], outermost first, for context."""
    level, names = nodes[index][0], []
    for deeper, _, name, _ in reversed(nodes[:index]):
        if deeper < level:
            level = deeper
            if name and not fallback_name(name):
                names.append(name)
    return list(reversed(names[:3]))


# Roles whose children never hold a list, not searched by find_list.
LEAF_ROLES = {"label", "push button", "toggle button", "image", "scroll bar", "separator",
              "list item", "list", "text", "entry", "check box", "combo box", "menu"}


def find_list(root, name):
    """The list called name under root: depth first, asking each element only its role,
    and its name only if it is a list, to keep round trips few."""
    stack = [(root, 0)]
    while stack:
        acc, level = stack.pop()
        try:
            role = acc.get_role_name()
            if role == "list" and acc.get_name() == name:
                return acc
            if role in LEAF_ROLES or level >= MAX_DEPTH:
                continue
            count = min(acc.get_child_count(), MAX_CHILDREN)
            children = [acc.get_child_at_index(i) for i in range(count)]
        except GLib.Error:
            continue
        stack.extend((child, level + 1) for child in reversed(children) if child is not None)
    return None


def viewport_of(acc):
    """(top, bottom) of what is visible of acc: its extents clipped by its ancestors'."""
    r = Atspi.Component.get_extents(acc, Atspi.CoordType.WINDOW)
    top, bottom = r.y, r.y + r.height
    parent = acc.get_parent()
    for _ in range(MAX_DEPTH):
        if parent is None or parent.get_role_name() in ("frame", "dialog", "application"):
            break
        try:
            p = Atspi.Component.get_extents(parent, Atspi.CoordType.WINDOW)
            if p.width > 0 and p.height > 0:
                top, bottom = max(top, p.y), min(bottom, p.y + p.height)
        except GLib.Error:
            pass  # a stack page: no extents of its own
        parent = parent.get_parent()
    return top, bottom


def window_problems(window):
    """One line per interactive element of window that a screen reader cannot name."""
    title = window.get_name() or ""
    nodes = list(iter_tree(window))
    problems = []
    for index, (_, role, name, _) in enumerate(nodes):
        problem = audit_problem(index, nodes)
        if problem:
            path = " > ".join(n for n in ancestors(nodes, index) if n)
            problems.append(f"{title}: {role} {name!r} ({problem}) in {path}")
    return problems


def rows_on_screen(target):
    """The names of the rows of the list target that are on screen.

    GTK 4.8 keeps about two hundred rows of a long list view alive and exposes them all;
    those out of view have no size. A screen reader speaks only what is shown.
    Returns (names, rows exposed).
    """
    top, bottom = viewport_of(target)
    count = min(target.get_child_count(), MAX_NODES)
    names = []
    for index in range(count):
        row = target.get_child_at_index(index)
        r = Atspi.Component.get_extents(row, Atspi.CoordType.WINDOW)
        if r.height > 0 and r.width > 0 and r.y < bottom and r.y + r.height > top:
            names.append(row.get_name() or "")
        elif names:
            break  # the rows on screen are consecutive: past the last one
    return names, count
