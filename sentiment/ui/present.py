"""Classroom mode: presenter mode (controls hidden, large type for a projector) and the step-through
of a review token by token (previous / play-pause / next, at a chosen speed).

Presenter mode is the sidebar switch ``present`` (and ``?present=1`` in a link). When it is on, CSS
hides the sidebar and every row a page puts in ``controls(...)``, and enlarges the text, the equations
and the charts' fonts; a button at the top right of the page ("Exit presenter mode"), in the page's flow
(it scrolls away with the page rather than floating over charts), turns it off again.

``step_through`` drives a page's token widget: while playing, the page's view of the current token
runs as an ``st.fragment(run_every=...)`` that moves one token on at each tick and stops at the end.
"""

from __future__ import annotations

import html
import time
from collections.abc import Callable

import streamlit as st

from .i18n import t

PRESENT_KEY = "present"  # session state of the switch; also the query parameter (?present=1)
SPEEDS = (0.5, 1.0, 2.0)  # seconds per token while playing
CONTROLS_PREFIX = "gs_controls_"  # containers keyed with this are hidden in presenter mode
CSS = """<style data-gatescope="presenter">
section[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="stExpandSidebarButton"],
[data-testid="stSidebarNav"], header[data-testid="stHeader"] { display: none !important; }
[class*="st-key-gs_controls_"] { display: none !important; }
.st-key-gs_present_exit { display: flex; flex-direction: row; justify-content: flex-end; }
[data-testid="stMain"] .block-container { padding-top: 1.5rem; max-width: 100%; }
[data-testid="stMain"] h1 { font-size: 3.2rem !important; }
[data-testid="stMain"] h2, [data-testid="stMain"] h3 { font-size: 2.3rem !important; }
[data-testid="stMain"] [data-testid="stMarkdownContainer"] p, [data-testid="stMain"] li { font-size: 1.55rem !important; line-height: 1.5; }
[data-testid="stMain"] [data-testid="stCaptionContainer"], [data-testid="stMain"] [data-testid="stCaptionContainer"] p { font-size: 1.3rem !important; }
[data-testid="stMain"] [data-testid="stWidgetLabel"] p, [data-testid="stMain"] button p { font-size: 1.3rem !important; }
[data-testid="stMain"] .katex { font-size: 1.45em !important; }
[data-testid="stMain"] .katex-display { overflow-x: auto; overflow-y: hidden; }
[data-testid="stMain"] [data-testid="stMetricValue"], [data-testid="stMain"] [data-testid="stMetricValue"] *,
[data-testid="stMain"] [data-testid="stMetricValue"] [data-testid="stMarkdownContainer"] p { font-size: 3rem !important; line-height: 1.2; }
[data-testid="stMain"] [data-baseweb="select"] div, [data-testid="stMain"] input { font-size: 1.2rem !important; }
[data-testid="stMain"] [data-testid="stSliderThumbValue"] [data-testid="stMarkdownContainer"] p { font-size: 1rem !important; line-height: 1.2; }
[data-testid="stMain"] [data-testid="stMetricLabel"] p { font-size: 1.3rem !important; }
.gs-present-review { font-size: 1.9rem; line-height: 1.6; border-left: 6px solid #888; padding: 0.3rem 1rem; margin: 0.5rem 0 1rem 0; }
</style>"""
CHART_FONT = 18  # plotly font size in presenter mode (13 otherwise, see figures.FONT)
MIN_CHART_FONT = 14  # no chart text smaller than this in presenter mode (ticks, colour bars: 9-11 px otherwise)


def on() -> bool:
    """Whether presenter mode is on in this session."""
    return bool(st.session_state.get(PRESENT_KEY, False))


def _exit() -> None:
    st.session_state[PRESENT_KEY] = False


def frame() -> None:
    """The sidebar switch (first read from ``?present=``), the URL kept in step with it, and while it is
    on: the presenter CSS and the way back (a button at the top right, above the page). Call it once per run,
    before the page, from ``sentiment.ui.navigation``."""
    if PRESENT_KEY not in st.session_state:
        st.session_state[PRESENT_KEY] = st.query_params.get(PRESENT_KEY, "") in ("1", "true", "yes", "on")
    st.sidebar.toggle(t("present.toggle"), key=PRESENT_KEY, help=t("present.help"))
    if on():
        if st.query_params.get(PRESENT_KEY) != "1":
            st.query_params[PRESENT_KEY] = "1"
        st.html(CSS)
        with st.container(key="gs_present_exit"):
            st.button(t("present.exit"), key="present_exit", on_click=_exit, icon=":material/close_fullscreen:")
    elif PRESENT_KEY in st.query_params:
        del st.query_params[PRESENT_KEY]


def controls(name: str):
    """A container for a row of controls that presenter mode hides: ``present.controls("ex").columns(...)``."""
    return st.container(key=f"{CONTROLS_PREFIX}{name}")


def review_banner(review: str) -> None:
    """In presenter mode, the review itself in large type (its input box is hidden with the controls)."""
    if on() and review.strip():
        shown = html.escape(review[:2000] + ("…" if len(review) > 2000 else "")).replace("\n", "<br>")
        st.markdown(f'<div class="gs-present-review">{shown}</div>', unsafe_allow_html=True)


def _grown(node, grow: float):
    """The font sizes set anywhere inside a figure's JSON (``font``, ``tickfont``, ``title.font``...), each
    times ``grow`` (at least MIN_CHART_FONT): a sparse copy holding only the font-bearing parts; None when there are none."""
    if isinstance(node, dict):
        out = {}
        for k, v in node.items():
            if k.endswith("font") and isinstance(v, dict) and isinstance(v.get("size"), (int, float)):
                out[k] = {**v, "size": max(MIN_CHART_FONT, round(v["size"] * grow))}
            elif isinstance(v, dict):
                sub = _grown(v, grow)
                if sub:
                    out[k] = sub
        return out or None
    return None


def _floor_unset(fig) -> None:
    """The fonts a figure leaves to the theme (Streamlit's sets tick and legend labels to 12 px whatever
    the base font): set to MIN_CHART_FONT + 2 on every axis, colour bar and the legend."""
    size = MIN_CHART_FONT + 2
    names = list(fig.layout.to_plotly_json())
    for name in dict.fromkeys(["xaxis", "yaxis", *(k for k in names if k.startswith(("xaxis", "yaxis")))]):
        axis = fig.layout[name]
        if axis.type == "log" and axis.dtick is None:
            axis.dtick = 1  # powers of ten only: plotly draws the digits between them smaller than any floor
        if not axis.tickfont.size:
            axis.tickfont.size = size
        if not axis.title.font.size:
            axis.title.font.size = size
    for name in [k for k in names if k.startswith("coloraxis")]:
        bar = fig.layout[name].colorbar
        if not bar.tickfont.size:
            bar.tickfont.size = size
        if not bar.title.font.size:
            bar.title.font.size = size
    if not fig.layout.legend.font.size:
        fig.layout.legend.font.size = size


def scale_figure(fig):
    """A chart's fonts enlarged for a projector when presenter mode is on (the figure, changed in place):
    the base font, every font a figure sets itself (titles, ticks, axis titles, colour bars, legends,
    annotations), the hover labels, and the height and margins in step (room for the larger labels)."""
    if not on():
        return fig
    grow = CHART_FONT / 13
    layout = fig.layout.to_plotly_json()
    sparse = _grown({k: v for k, v in layout.items() if k not in ("font", "annotations", "shapes")}, grow) or {}
    fig.update_layout(sparse)
    fig.update_layout(font=dict(size=CHART_FONT), hoverlabel=dict(font=dict(size=CHART_FONT)))
    _floor_unset(fig)
    for a in fig.layout.annotations or ():
        a.font.size = max(MIN_CHART_FONT, round((a.font.size or 13) * grow))
    for tr in fig.data:
        sub = _grown(tr.to_plotly_json(), grow)
        if sub:
            tr.update(sub)
    if fig.layout.height:
        fig.layout.height = round(fig.layout.height * grow)
    m = fig.layout.margin
    fig.update_layout(margin={side: round(getattr(m, side) * grow) for side in ("l", "r", "t", "b") if getattr(m, side)})
    return fig


# ---- step-through -----------------------------------------------------------------------------------


def _playing_key(key: str) -> str:
    return f"{key}_playing"


def _due_key(key: str) -> str:
    return f"{key}_step_due"


def _speed(key: str) -> float:
    s = st.session_state.get(f"{key}_speed", 1.0)
    return float(s) if s in SPEEDS else 1.0


def now() -> float:
    """The clock the player steps by: time.monotonic() (the tests put a clock of their own here)."""
    return time.monotonic()


def _rearm(key: str) -> None:
    """The next automatic step no sooner than most of one interval from now."""
    st.session_state[_due_key(key)] = now() + 0.7 * _speed(key)


def _step(key: str, token_key: str, n: int, delta: int) -> None:
    """Previous / next (a button's callback): the token moved by ``delta`` within 0 .. n-1."""
    st.session_state[token_key] = max(0, min(n - 1, int(st.session_state.get(token_key, 0)) + delta))
    _rearm(key)


def _toggle(key: str, token_key: str, n: int) -> None:
    """Play / pause (a button's callback); playing from the last token starts again at the first."""
    playing = not st.session_state.get(_playing_key(key), False)
    st.session_state[_playing_key(key)] = playing
    if playing and int(st.session_state.get(token_key, 0)) >= n - 1:
        st.session_state[token_key] = 0
    _rearm(key)


def _advance(key: str, token_key: str, n: int) -> None:
    """While playing and due: one token on; at the last token, stop (a full rerun drops the timer)."""
    if not st.session_state.get(_playing_key(key)) or now() < st.session_state.get(_due_key(key), 0.0):
        return
    tok = int(st.session_state.get(token_key, 0))
    if tok >= n - 1:
        st.session_state[_playing_key(key)] = False
        st.rerun()
    st.session_state[token_key] = tok + 1
    _rearm(key)


def step_through(key: str, n: int, token_key: str, view: Callable[[], None]) -> None:
    """Previous / play-pause / next and the speed for a review of ``n`` tokens, then ``view()`` (which
    draws the token widget ``token_key`` and what follows the token). While playing, ``view`` runs as
    a fragment every ``speed`` seconds, one token further each time."""
    playing = bool(st.session_state.get(_playing_key(key), False)) and n > 1
    if not playing:
        st.session_state[_playing_key(key)] = False
    tok = int(st.session_state.get(token_key, 0)) if isinstance(st.session_state.get(token_key), int) else 0
    c1, c2, c3, c4 = st.columns([1, 1, 1, 3], vertical_alignment="bottom")
    c1.button(t("step.prev"), key=f"{key}_prev", icon=":material/skip_previous:", width="stretch",
              on_click=_step, args=(key, token_key, n, -1), disabled=n < 2 or tok <= 0)
    c2.button(t("step.pause") if playing else t("step.play"), key=f"{key}_play", width="stretch", type="primary",
              icon=":material/pause:" if playing else ":material/play_arrow:", on_click=_toggle, args=(key, token_key, n),
              disabled=n < 2)
    c3.button(t("step.next"), key=f"{key}_next", icon=":material/skip_next:", width="stretch",
              on_click=_step, args=(key, token_key, n, 1), disabled=n < 2 or tok >= n - 1)
    if st.session_state.get(f"{key}_speed") not in SPEEDS:
        st.session_state[f"{key}_speed"] = 1.0
    c4.segmented_control(t("step.speed"), SPEEDS, key=f"{key}_speed", format_func=lambda s: f"{s:g} s",
                         required=True, persist_state="session")

    def body() -> None:
        _advance(key, token_key, n)
        view()

    if playing:
        st.fragment(run_every=_speed(key))(body)()
    else:
        body()
