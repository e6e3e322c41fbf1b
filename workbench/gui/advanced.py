"""What classroom mode hides: the form rows of advanced settings (`Meta.advanced`: AdamW's epsilon, LayerNorm's
epsilon, the initial spread...) and a panel's expert controls (the Probe panel's By layer, say). Widgets are tagged
when they are made; `show_advanced` hides or shows every tagged one under a widget, and shows again only what it
hid itself (a group box hidden for its own reason stays hidden)."""

from __future__ import annotations

from PySide6.QtWidgets import QFormLayout, QGroupBox, QLayoutItem, QWidget

ADVANCED = "advanced_setting"  # an advanced setting's editor: its form row is hidden
EXPERT = "expert_control"  # a control of its own (not a form row): the widget is hidden
HIDDEN_HERE = "hidden_as_advanced"  # hidden by `show_advanced`, so shown again by it


def mark_advanced(widget: QWidget, advanced: bool = True) -> None:
    """Tag the editor of an advanced setting, so that `show_advanced` can hide its form row."""
    widget.setProperty(ADVANCED, advanced)


def mark_expert(*widgets: QWidget) -> None:
    """Tag controls that classroom mode hides (each is hidden itself: they are not form rows)."""
    for widget in widgets:
        widget.setProperty(EXPERT, True)


def _is_advanced(item: QLayoutItem | None) -> bool:
    """A form row's field: an advanced setting's widget, or a layout or widget around one."""
    if item is None:
        return False
    widget = item.widget()
    if widget is not None:
        return bool(widget.property(ADVANCED)) or any(bool(child.property(ADVANCED)) for child in
                                                      widget.findChildren(QWidget))
    layout = item.layout()
    return layout is not None and any(_is_advanced(layout.itemAt(i)) for i in range(layout.count()))


def _set_shown(widget: QWidget, visible: bool) -> None:
    if not visible and not widget.isHidden():
        widget.setProperty(HIDDEN_HERE, True)
        widget.hide()
    elif visible and widget.property(HIDDEN_HERE):
        widget.setProperty(HIDDEN_HERE, False)
        widget.show()


def show_advanced(root: QWidget, visible: bool) -> None:
    """Show or hide the advanced settings' form rows and the expert controls under `root` (classroom mode hides
    them); a group box left with no row shown is hidden too."""
    for form in root.findChildren(QFormLayout):
        advanced = [row for row in range(form.rowCount())
                    if _is_advanced(form.itemAt(row, QFormLayout.ItemRole.FieldRole))]
        for row in advanced:
            form.setRowVisible(row, visible)
        box = form.parentWidget()
        if advanced and isinstance(box, QGroupBox) and box.layout() is form and len(advanced) == form.rowCount():
            _set_shown(box, visible)
    for widget in root.findChildren(QWidget):
        if widget.property(EXPERT):
            _set_shown(widget, visible)
