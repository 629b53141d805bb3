/**
 * Todo app 1.x → 2.0: `isDone` becomes `status` (active · blocked · done · rejected).
 *
 * Down: `isDone = status == "done"` (so blocked, rejected and active read as not done). Up: an old
 * edit that leaves `isDone` as the base's status implies keeps the base `status` (a blocked todo stays
 * blocked); toggling `isDone` to true gives `done`, to false (from done) gives `active`.
 */
import { documentStep, type DeclarativeStep, type Step } from "../../../adapters/steps.js";
import type { TodoItemV1, TodoItemV2 } from "../types.js";

/** The 1→2 step as data (the one the todo graph uses). */
export const todoItem1to2: DeclarativeStep = {
  name: "todo-item 1→2: isDone → status",
  from: { "todo-item": 1 },
  to: { "todo-item": 2 },
  ops: [
    {
      op: "convert",
      field: "isDone",
      to: "status",
      forward: [
        [true, "done"],
        [false, "active"],
      ],
      backward: [
        ["done", true],
        ["active", false],
        ["blocked", false],
        ["rejected", false],
      ],
    },
  ],
};

/** The same step written as typed functions (kept equivalent to {@link todoItem1to2} by a property test). */
export const todoItem1to2Typed: Step<TodoItemV1, TodoItemV2> = documentStep<TodoItemV1, TodoItemV2>("todo-item", 1, 2, {
  name: "todo-item 1→2 (typed)",
  up: ({ isDone, ...rest }, { base }) => ({
    ...rest,
    version: 2,
    status: base !== undefined && (base.status === "done") === isDone ? base.status : isDone ? "done" : "active",
  }),
  down: ({ status, ...rest }) => ({ ...rest, version: 1, isDone: status === "done" }),
});
