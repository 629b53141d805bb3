// Declarations for untyped third-party modules divan uses.
declare module "express-pouchdb" {
  import type { Express } from "express";
  function expressPouchDB(pouch: unknown, options?: Record<string, unknown>): Express;
  export default expressPouchDB;
}
