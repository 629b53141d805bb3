/**
 * The user model knows that CouchDB makes one revision of two identical changes on the same parent (a revision id is
 * derived from content and parent): the later device's change is the earlier one, not a newer value.
 */
import { describe, expect, it } from "vitest";
import { UserModel } from "../../examples/todo-app/model.js";

const CONCURRENT = { concurrent: true, contested: false };

function modelWithTodo(): UserModel {
  const model = new UserModel();
  model.created("t1", { id: "e1", title: "buy milk", createdAt: "2024-01-01T00:00:00.000Z", done: false });
  return model;
}

describe("UserModel: identical changes on the same parent are one revision", () => {
  it("a device that marks done as another did on the same revision, after the other undid it, leaves the undo the latest", () => {
    const model = modelWithTodo();
    model.updated("e1", { status: "done" }, CONCURRENT, ["todo-item-status:e1@2-aaa"]);
    model.updated("e1", { status: "active" }, CONCURRENT, ["todo-item-status:e1@3-bbb"]);
    model.updated("e1", { status: "done" }, CONCURRENT, ["todo-item-status:e1@2-aaa"]);
    const [m] = model.all();
    expect(m!.status).toBe("active");
    expect(m!.concurrent).toBe(true);
    expect(m!.history.status).toEqual(["active", "done"]);
  });

  it("the same change written as a revision of its own is the latest", () => {
    const model = modelWithTodo();
    model.updated("e1", { status: "done" }, CONCURRENT, ["todo-item-status:e1@2-aaa"]);
    model.updated("e1", { status: "active" }, CONCURRENT, ["todo-item-status:e1@3-bbb"]);
    model.updated("e1", { status: "done" }, CONCURRENT, ["todo-item-status:e1@2-ccc"]);
    expect(model.all()[0]!.status).toBe("done");
  });

  it("a change whose revisions are not known (none given) is the latest", () => {
    const model = modelWithTodo();
    model.updated("e1", { status: "done" });
    model.updated("e1", { status: "active" });
    model.updated("e1", { status: "done" });
    expect(model.all()[0]!.status).toBe("done");
  });
});
