import { memoryStorage } from "../../src/storage/memory/index.js";
import { describeStorageConformance } from "../../src/testing/index.js";
import { createTestStorage, forEachTestDatabase } from "../setup/databases.js";

await describeStorageConformance({ name: "memory", create: async () => ({ storage: memoryStorage() }) });

forEachTestDatabase("kyselyStorage", async (database) => {
  await describeStorageConformance({
    name: database.label,
    create: async () => {
      const { storage, cleanup } = await createTestStorage(database, { migrate: false });
      return { storage, cleanup };
    },
  });
});
