// Starts examples/express/server.ts as a child process and drives it over HTTP; fails if the example breaks.
import { describeExample } from "./run-example.js";

describeExample("express");
