"""The app's look: a few CSS rules for the panel rows, status dots and terminals, added to every page."""

from __future__ import annotations

CSS = """
.ssmux-row { display: flex; align-items: center; gap: .5rem; padding: .25rem .5rem; cursor: pointer;
  border-radius: .25rem; user-select: none; }
.ssmux-row:hover { background: rgba(0,0,0,.05); }
.ssmux-row-selected, .ssmux-row-selected:hover { background: rgba(25,118,210,.15); }
.ssmux-row-text { display: flex; flex-direction: column; min-width: 0; flex: 1; }
.ssmux-row-name { font-weight: 500; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.ssmux-row-sub { font-size: .75rem; color: #666; display: flex; flex-wrap: nowrap; gap: .25rem;
  align-items: center; overflow: hidden; white-space: nowrap; }
.ssmux-row-sub > * { flex: none; }
/* The id and the short status chips stay whole; tags shrink to fit the panel, each ending in an ellipsis
   (its title has the full value). */
.ssmux-row-sub > .ssmux-chip-tag { flex: 0 1 auto; min-width: 1.25rem; overflow: hidden;
  text-overflow: ellipsis; }
.ssmux-row-problem .ssmux-row-name { color: #8a6d00; }
.ssmux-chip { border-radius: .5rem; padding: 0 .35rem; background: #eee; font-size: .7rem;
  line-height: 1.1rem; }
.ssmux-chip-ok { background: #e3f4e5; color: #1b5e20; }
.ssmux-chip-off { background: #eee; color: #555; }
.ssmux-chip-warn { background: #fff3cd; color: #8a6d00; }
.ssmux-chip-tag { background: #e8eaf6; color: #283593; }
.ssmux-dot { display: inline-block; width: .6rem; height: .6rem; border-radius: 50%; flex: none;
  background: #bbb; }
.ssmux-dot-ok, .ssmux-dot-connected { background: #2e7d32; }
.ssmux-dot-warn { background: #f9a825; }
.ssmux-dot-connecting { background: #f9a825; animation: ssmux-pulse 1s infinite; }
.ssmux-dot-ended { background: #9e9e9e; }
.ssmux-dot-error { background: #c62828; }
@keyframes ssmux-pulse { 50% { opacity: .3; } }
.ssmux-group-header { display: flex; align-items: center; gap: .25rem; padding: .25rem; font-weight: 600;
  cursor: pointer; user-select: none; }
.ssmux-split { display: flex; width: 100%; height: 100%; min-height: 0; }
.ssmux-split-panel { flex: none; width: var(--ssmux-panel-width, 400px); min-width: 220px;
  max-width: calc(100% - 320px); height: 100%; overflow: hidden; }
.ssmux-splitter { flex: none; width: 5px; cursor: col-resize; background: #e0e0e0; touch-action: none; }
.ssmux-splitter:hover, .ssmux-splitter:focus, .ssmux-splitter-dragging { background: #1976d2; outline: none; }
.ssmux-split-main { flex: 1; min-width: 0; height: 100%; }
.ssmux-panel-list:focus { outline: 2px solid rgba(25,118,210,.4); outline-offset: -2px; }
.ssmux-terminal { width: 100%; height: 100%; min-height: 10rem; background: #1e1e1e; }
.ssmux-terminal .xterm { height: 100%; padding: .25rem; }
.ssmux-tab-panels, .ssmux-tab-panels .q-tab-panel { padding: 0; height: 100%; }
.ssmux-tab-pair { font-size: .7rem; line-height: 1rem; padding: 0 .3rem; border: 1px solid;
  border-radius: .5rem; white-space: nowrap; }
.ssmux-error-card { display: flex; align-items: flex-start; gap: .75rem; margin: .5rem; padding: .75rem 1rem;
  background: #fdecea; color: #5f2120; border: 1px solid #f5c2c0; border-radius: .375rem; }
.ssmux-error-icon { color: #c62828; flex: none; }
.ssmux-error-text { flex: 1; min-width: 0; overflow-wrap: break-word; word-break: normal; }
.ssmux-error-title { font-weight: 600; font-size: .95rem; }
.ssmux-error-detail { font-size: .875rem; margin-top: .15rem; }
.ssmux-error-code { font-size: .75rem; color: #8d4a48; margin-top: .25rem; font-family: monospace; }
.ssmux-error-actions { display: flex; gap: .5rem; flex: none; align-items: center; }
"""
