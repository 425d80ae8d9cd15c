// One row of the profile panel, rendered in the browser from its props, so a list of many targets costs
// one element each. Events: select (click), connect (double-click), menu (right-click).
export default {
  template: `
    <div class="ssmux-row" :class="{ 'ssmux-row-selected': selected, 'ssmux-row-problem': !!problem }"
         @click="$emit('select')" @dblclick="$emit('connect')" @contextmenu="$emit('menu')"
         :title="problem || description || null">
      <span class="ssmux-dot" :class="'ssmux-dot-' + dot" :title="dotTitle"></span>
      <span class="ssmux-row-text">
        <span class="ssmux-row-name" :title="problem || description || name">{{ name }}</span>
        <span class="ssmux-row-sub">
          <span v-if="instance_id !== name" class="ssmux-row-id">{{ instance_id }}</span>
          <span v-if="platform" class="ssmux-chip" :title="platform">{{ platform }}</span>
          <span v-if="state" class="ssmux-chip" :title="state" :class="state === 'running' ? 'ssmux-chip-ok' : 'ssmux-chip-off'">{{ state }}</span>
          <span v-if="ping" class="ssmux-chip" :title="ping" :class="ping === 'Online' ? 'ssmux-chip-ok' : 'ssmux-chip-warn'">{{ ping }}</span>
          <span v-for="tag in tags" class="ssmux-chip ssmux-chip-tag" :title="tag">{{ tag }}</span>
        </span>
      </span>
    </div>`,
  props: {
    name: String,
    instance_id: String,
    state: String,
    ping: String,
    platform: String,
    tags: Array,
    problem: String,
    description: String,
    selected: Boolean,
  },
  computed: {
    dot() {
      if (this.problem) return "warn";
      if (this.ping === "Online" && (!this.state || this.state === "running")) return "ok";
      return "unknown";
    },
    dotTitle() {
      return this.problem || (this.dot === "ok" ? "SSM agent online" : "status unknown (not synced)");
    },
  },
};
