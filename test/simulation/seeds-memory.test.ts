/** CI's simulation in the fast in-process world: seeds 1–50 against every strategy (see `seeds.ts`). */
import { seededSimulation } from "./seeds.js";

seededSimulation("memory", Array.from({ length: 50 }, (_, i) => i + 1));
