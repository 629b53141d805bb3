/**
 * The contact book's steps (one module per breaking change), as the app team lists them.
 */
import type { StepDefinition } from "../../../adapters/steps.js";
import { contact1to2 } from "./1-to-2.js";

/** Every contact step, oldest first. */
export const contactSteps: readonly StepDefinition[] = [contact1to2];
