/** Kept in step with package.json by the release process (a test checks they agree). */
export const VERSION = '0.1.0';
