// The HTTP contract once more, on durable storage: a real SQLite file through the Kysely storage.
import { createTestStorage, forEachTestDatabase } from "../setup/databases.js";
import { describeHttpContract } from "./contract.js";
import { startExpressServer } from "./servers.js";

forEachTestDatabase(
  "HTTP on Kysely storage",
  (database) => {
    describeHttpContract(`Express 5 on ${database.label}`, startExpressServer, {
      prefix: "/api",
      createStorage: () => createTestStorage(database),
    });
  },
  { only: ["sqlite-file"] },
);
