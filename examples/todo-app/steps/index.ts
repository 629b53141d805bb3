/**
 * The todo app's steps (one module per breaking change), as the app team would list them.
 */
import type { StepDefinition } from "../../../adapters/steps.js";
import { todoItem1to2 } from "./1-to-2.js";
import { todoItem2to3 } from "./2-to-3.js";

/** Every todo step, oldest first. */
export const todoSteps: readonly StepDefinition[] = [todoItem1to2, todoItem2to3];

/** Todo entity shapes per app version (the `todo-item` family). */
export const todoShapes = {
  v1: { "todo-item": 1 },
  v2: { "todo-item": 2 },
  v3: { "todo-item": 3, "todo-item-status": 1 },
} as const satisfies Record<string, Record<string, number>>;
