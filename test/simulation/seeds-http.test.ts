/** CI's simulation over HTTP (the embedded server, or `COUCHDB_URL` when set): seeds 1–5 against every strategy (see `seeds.ts`). */
import { seededSimulation } from "./seeds.js";

seededSimulation("http", [1, 2, 3, 4, 5]);
