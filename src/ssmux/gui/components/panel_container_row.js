// A container row of the profile panel (an ECS task's container), drawn in the browser from its props like
// target_row.js, whose events it shares: select (click), connect (double-click), menu (right-click).
// A container ECS Exec cannot reach is greyed, and says why on hover.
export default {
  template: `
    <div class="ssmux-row ssmux-container-row" :class="{ 'ssmux-row-selected': selected }"
         :style="ready ? null : 'opacity: .55'"
         @click="$emit('select')" @dblclick="$emit('connect')" @contextmenu="$emit('menu')"
         :title="problem || null">
      <i class="q-icon material-icons notranslate" aria-hidden="true"
         :style="'font-size: 1.1rem; color: ' + (ready ? '#0277bd' : '#9e9e9e')">view_in_ar</i>
      <span class="ssmux-row-text">
        <span class="ssmux-row-name" :title="problem || full_name">{{ name }}</span>
        <span class="ssmux-row-sub">
          <span class="ssmux-row-id" :title="instance_id">{{ task_id }}</span>
          <span v-if="task_definition" class="ssmux-chip" :title="'task definition ' + task_definition">{{ task_definition }}</span>
          <span v-if="launch_type" class="ssmux-chip" :title="launch_type">{{ launch_type }}</span>
          <span class="ssmux-chip" :class="ready ? 'ssmux-chip-ok' : 'ssmux-chip-off'"
                :title="problem || 'ECS Exec ready'">{{ ready ? 'exec' : 'no exec' }}</span>
        </span>
      </span>
    </div>`,
  props: {
    name: String,
    full_name: String,
    instance_id: String,
    task_id: String,
    task_definition: String,
    launch_type: String,
    ready: Boolean,
    problem: String,
    selected: Boolean,
  },
};
