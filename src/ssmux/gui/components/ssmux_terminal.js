// A session's terminal: xterm.js (bundled with NiceGUI) that fits its tab, acknowledges what it has drawn
// (so the server never sends faster than the browser draws), copies/pastes and searches its scrollback.
import { Terminal, FitAddon, WebLinksAddon } from "nicegui-xterm";
import { loadResource } from "../../static/utils/resources.js";

export default {
  template: "<div></div>",
  mounted() {
    this.terminal = new Terminal(this.options);
    this.terminal.loadAddon((this.fit_addon = new FitAddon()));
    this.terminal.loadAddon(new WebLinksAddon());
    this.terminal.open(this.$el);
    this.terminal.onData((data) => this.$emit("data", data));
    this.terminal.onBinary((data) => this.$emit("data", data));
    this.terminal.onResize((size) => this.$emit("resize", size));
    this.terminal.onTitleChange((title) => this.$emit("title", title));
    this.terminal.attachCustomKeyEventHandler((event) => this.handleKey(event));
    // Fit whenever the tab's box changes (window resize, drawer toggled, tab shown again).
    this.observer = new ResizeObserver(() => this.scheduleFit());
    this.observer.observe(this.$el);
    this.$nextTick().then(() => {
      loadResource(window.path_prefix + `${this.resourcePath}/xterm.css`);
      this.scheduleFit();
      this.$emit("ready", { cols: this.terminal.cols, rows: this.terminal.rows });
    });
  },
  unmounted() {
    if (this.observer) this.observer.disconnect();
    if (this.terminal) this.terminal.dispose();
  },
  methods: {
    scheduleFit() {
      if (this.fitPending) return;
      this.fitPending = true;
      requestAnimationFrame(() => {
        this.fitPending = false;
        // A hidden tab has no size: fitting it would shrink the remote pty to nothing.
        if (this.$el.offsetWidth > 0 && this.$el.offsetHeight > 0) this.fit_addon.fit();
      });
    },
    handleKey(event) {
      if (event.type !== "keydown") return true;
      const key = event.key.toLowerCase();
      if (event.ctrlKey && event.shiftKey && key === "c") {
        const text = this.terminal.getSelection();
        if (text && navigator.clipboard) navigator.clipboard.writeText(text);
        return false;
      }
      if (event.ctrlKey && event.shiftKey && key === "v") return false; // the browser pastes; xterm sends it
      if (event.ctrlKey && event.shiftKey && key === "f") {
        this.$emit("find");
        return false;
      }
      return true;
    },
    writeChunk(data) {
      // Resolves once xterm has parsed the chunk: the server waits for it before sending the next one.
      return new Promise((resolve) => this.terminal.write(data, () => resolve(true)));
    },
    reset() {
      this.terminal.reset();
    },
    fit() {
      this.fit_addon.fit();
      return { cols: this.terminal.cols, rows: this.terminal.rows };
    },
    focus() {
      this.terminal.focus();
    },
    getSize() {
      return { cols: this.terminal.cols, rows: this.terminal.rows };
    },
    getText(lines) {
      // The last `lines` lines of the buffer as text (tests and "copy output").
      const buffer = this.terminal.buffer.active;
      const end = buffer.length;
      const out = [];
      for (let y = Math.max(0, end - (lines || end)); y < end; y++) {
        const line = buffer.getLine(y);
        if (line) out.push(line.translateToString(true));
      }
      return out.join("\n");
    },
    search(term, backwards) {
      // Find `term` (case-insensitive) in the scrollback from the last match on, select it and scroll to it.
      if (!term) return false;
      const buffer = this.terminal.buffer.active;
      const needle = term.toLowerCase();
      const total = buffer.length;
      let start = this.lastMatch === undefined ? (backwards ? total - 1 : 0) : this.lastMatch + (backwards ? -1 : 1);
      for (let step = 0; step < total; step++) {
        const y = (((start + (backwards ? -step : step)) % total) + total) % total;
        const line = buffer.getLine(y);
        if (!line) continue;
        const x = line.translateToString(true).toLowerCase().indexOf(needle);
        if (x >= 0) {
          this.lastMatch = y;
          this.terminal.select(x, y, term.length);
          this.terminal.scrollToLine(Math.max(0, y - Math.floor(this.terminal.rows / 2)));
          return true;
        }
      }
      this.lastMatch = undefined;
      return false;
    },
  },
  props: {
    options: Object,
    resourcePath: String,
  },
};
