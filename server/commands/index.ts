/**
 * Every CLI command, in the order `divan --help` lists them. A command module exports one
 * function that adds its command to the program.
 */
import type { Command } from "commander";
import { register as types } from "./types.js";
import { register as check } from "./check.js";
import { register as validate } from "./validate.js";
import { register as serve } from "./serve.js";
import { register as compare } from "./compare.js";
import { register as migrate } from "./migrate.js";
import { register as rollback } from "./rollback.js";
import { register as status } from "./status.js";
import { register as init } from "./init.js";
import { register as simulate } from "./simulate.js";

/** Adds one command to the program. */
export type RegisterCommand = (program: Command) => void;

/** All commands of the `divan` CLI. */
export const commands: RegisterCommand[] = [
  types,
  check,
  validate,
  serve,
  compare,
  migrate,
  rollback,
  status,
  init,
  simulate,
];
