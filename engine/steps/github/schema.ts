// The JSON Schema of a `github:` step's settings: assembled into schema/scenario.schema.json as
// `$defs.githubRequest` by `npm run generate` (engine/build/gen-schema.mjs). Edit here, then regenerate.

import type { JsonSchema } from '../types.js';

export const schema: JsonSchema = {
  "type": "object",
  "additionalProperties": false,
  "required": [
    "request"
  ],
  "description": "A GitHub REST API request made as a well-written client makes it: it tracks the rate-limit headers " +
    "per token, waits for a reset or a `retry-after`, caps requests in flight, spaces writes, and sends a " +
    "rate-limited request again (docs/github.md).",
  "properties": {
    "request": {
      "type": "string",
      "minLength": 1,
      "description": "Method and path, as in GitHub's docs; `{name}` parts are filled from `params`.",
      "examples": [
        "GET /repos/{owner}/{repo}/issues"
      ]
    },
    "params": {
      "type": "object",
      "description": "Path parameters, then the query of a read (GET) or the JSON body of a write (templates " +
        "allowed; a lone `{{x}}` keeps its type).",
      "additionalProperties": true,
      "examples": [
        {
          "owner": "octo",
          "repo": "hello",
          "per_page": 50
        }
      ]
    },
    "body": {
      "description": "The JSON body of a write (merged over the leftover `params`); strings inside may be templates.",
      "examples": [
        {
          "title": "Found a bug"
        }
      ]
    },
    "token": {
      "type": "string",
      "description": "Token sent as `authorization: Bearer`; use `${env.GITHUB_TOKEN}` (redacted in reports). " +
        "Without it, requests are unauthenticated (60 an hour on GitHub)."
    },
    "api": {
      "type": "string",
      "description": "API base URL (`https://api.github.com`, a GitHub Enterprise URL) or a service name. Default: " +
        "the scenario's only github-mock service."
    },
    "conditional": {
      "type": "boolean",
      "description": "Send `if-none-match` with the etag of the last answer to the same GET: a 304 (which GitHub " +
        "does not count against the primary limit) gives the cached body. Default false."
    },
    "respect_limits": {
      "type": "boolean",
      "description": "Behave as a good client (default true). `false`: an aggressive client that never waits, never " +
        "retries and has no cap on requests in flight — what abuse detection is for."
    },
    "concurrency": {
      "type": "integer",
      "minimum": 1,
      "description": "Requests in flight at once per token (default 10)."
    },
    "write_interval": {
      "$ref": "#/$defs/duration",
      "description": "Writes (POST, PATCH, PUT, DELETE) go one at a time per token, at least this far apart " +
        "(default 1s, GitHub's advice)."
    },
    "retries": {
      "type": "integer",
      "minimum": 0,
      "description": "Rate-limited answers waited out and sent again before the step fails (default 3)."
    },
    "max_wait": {
      "$ref": "#/$defs/duration",
      "description": "The longest wait for a reset or `retry-after` the step makes; a longer one fails it at once " +
        "(default 15min)."
    }
  }
};
