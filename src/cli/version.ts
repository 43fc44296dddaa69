/** The package version `vargate --version` prints. test/cli checks it against package.json. */
export const VERSION = "0.1.0";
