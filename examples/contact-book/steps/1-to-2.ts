/**
 * Contact book 1.0 → 2.0: the two documents of a contact become one.
 *
 * The address document's street and
 * city move into the contact (merge), nested under `address` (wrap); `favorite` changes type, `"yes"`/`"no"`
 * → `true`/`false` (convert); and `nickname` (required, default `""`) is added.
 *
 * Down: the address document comes back from the nested object (hoist, then extract), favorite turns back
 * into `"yes"`/`"no"`, and the nickname is dropped; going up again with the stored 2.0 contact as base
 * restores it. Declarative, so old apps built with divan/client can learn it as data.
 */
import type { DeclarativeStep } from "../../../adapters/steps.js";

/** The 1→2 step as data. */
export const contact1to2: DeclarativeStep = {
  name: "contact 1→2: merge the address, favorite becomes a boolean, add nickname",
  from: { contact: 1, "contact-address": 1 },
  to: { contact: 2 },
  ops: [
    { op: "merge", type: "contact", from: "contact-address", fields: ["street", "city"] },
    { op: "wrap", type: "contact", fields: ["street", "city"], into: "address" },
    {
      op: "convert",
      type: "contact",
      field: "favorite",
      forward: [
        ["yes", true],
        ["no", false],
      ],
      backward: [
        [true, "yes"],
        [false, "no"],
      ],
    },
    { op: "add", type: "contact", field: "nickname", default: "" },
  ],
};
