import { memoryStorage } from "../../src/storage/memory.js";
import { describeStorageConformance } from "../../src/testing/index.js";
import { createTestStorage, forEachTestDatabase } from "../setup/databases.js";

describeStorageConformance({ name: "memory", create: async () => ({ storage: memoryStorage() }) });

forEachTestDatabase("kyselyStorage", (database) => {
  describeStorageConformance({
    name: database.label,
    create: async () => {
      const { storage, cleanup } = await createTestStorage(database, { migrate: false });
      return { storage, cleanup };
    },
  });
});
