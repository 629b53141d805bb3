/**
 * The todo app's steps (one module per breaking change), as the app team would list them.
 */
import type { StepDefinition } from "../../../adapters/steps.js";
import type { MigrationCode } from "../../../strategies/types.js";
import { todoItem1to2 } from "./1-to-2.js";
import { todoItem2to3 } from "./2-to-3.js";

/** The step modules, as the comparison counts them as the app team's migration code. */
export const todoStepFiles: readonly MigrationCode[] = [
  { path: "examples/todo-app/steps/1-to-2.ts", why: "todo-item 1↔2: isDone ↔ status (declarative step)" },
  { path: "examples/todo-app/steps/2-to-3.ts", why: "todo-item 2↔3: status into its own document, group added (declarative step)" },
];

/** Every todo step, oldest first. */
export const todoSteps: readonly StepDefinition[] = [todoItem1to2, todoItem2to3];

/** Todo entity shapes per app version (the `todo-item` family). */
export const todoShapes = {
  v1: { "todo-item": 1 },
  v2: { "todo-item": 2 },
  v3: { "todo-item": 3, "todo-item-status": 1 },
} as const satisfies Record<string, Record<string, number>>;
