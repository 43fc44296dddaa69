export { memoryStorage } from "./memory/index.js";
