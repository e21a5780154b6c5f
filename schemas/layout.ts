/** Where things are in a config repo: names only, so that a command can find the repo without loading its schemas. */
export const CUSTOMERS_FILE = 'customers.yaml';
