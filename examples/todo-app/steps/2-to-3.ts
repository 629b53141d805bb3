/**
 * Todo app 2.0 → 3.0: the status moves into its own `todo-item-status:<entityId>` document (1→2 split),
 * and `group` (required, default `"default"`) is added.
 *
 * Down: the status is merged back (2→1) and `group` is dropped; going up again with the stored v3
 * documents as base restores the group (and the status document's `_rev` and unknown attributes).
 */
import type { DeclarativeStep } from "../../../adapters/steps.js";

/** The 2→3 step as data. */
export const todoItem2to3: DeclarativeStep = {
  name: "todo-item 2→3: extract status, add group",
  from: { "todo-item": 2 },
  to: { "todo-item": 3, "todo-item-status": 1 },
  ops: [
    { op: "extract", fields: ["status"], into: "todo-item-status" },
    { op: "add", field: "group", default: "default" },
  ],
};
