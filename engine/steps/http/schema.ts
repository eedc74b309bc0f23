// The JSON Schema of a `http:` step's settings: assembled into schema/scenario.schema.json as `$defs.httpRequest` by
// `npm run generate` (engine/build/gen-schema.mjs). Edit here, then regenerate.

import type { JsonSchema } from '../types.js';

export const schema: JsonSchema = {
  "type": "object",
  "additionalProperties": false,
  "description": "An HTTP request: exactly one method key whose value is the URL (absolute, or relative to `target`).",
  "oneOf": [
    {
      "required": [
        "get"
      ]
    },
    {
      "required": [
        "post"
      ]
    },
    {
      "required": [
        "put"
      ]
    },
    {
      "required": [
        "patch"
      ]
    },
    {
      "required": [
        "delete"
      ]
    },
    {
      "required": [
        "head"
      ]
    },
    {
      "required": [
        "options"
      ]
    }
  ],
  "properties": {
    "get": {
      "$ref": "#/$defs/template",
      "description": "GET this URL.",
      "examples": [
        "/debates?topic={{topic}}"
      ]
    },
    "post": {
      "$ref": "#/$defs/template",
      "description": "POST to this URL."
    },
    "put": {
      "$ref": "#/$defs/template",
      "description": "PUT to this URL."
    },
    "patch": {
      "$ref": "#/$defs/template",
      "description": "PATCH this URL."
    },
    "delete": {
      "$ref": "#/$defs/template",
      "description": "DELETE this URL."
    },
    "head": {
      "$ref": "#/$defs/template",
      "description": "HEAD this URL."
    },
    "options": {
      "$ref": "#/$defs/template",
      "description": "OPTIONS this URL."
    },
    "headers": {
      "type": "object",
      "description": "Request headers (templates allowed).",
      "additionalProperties": {
        "type": "string"
      }
    },
    "query": {
      "type": "object",
      "description": "Query parameters added to the URL (templates allowed; encoded for you).",
      "additionalProperties": {
        "type": [
          "string",
          "number",
          "boolean"
        ]
      }
    },
    "json": {
      "description": "A body sent as JSON (`content-type: application/json`); strings inside may be templates."
    },
    "body": {
      "type": "string",
      "description": "A raw body (template allowed)."
    },
    "form": {
      "type": "object",
      "description": "A body sent as `application/x-www-form-urlencoded`.",
      "additionalProperties": {
        "type": [
          "string",
          "number",
          "boolean"
        ]
      }
    }
  }
};
