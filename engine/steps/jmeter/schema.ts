// The JSON Schema of a `jmeter:` step's settings: assembled into schema/scenario.schema.json as `$defs.jmeterPlan` by
// `npm run generate` (engine/build/gen-schema.mjs). Edit here, then regenerate.

import type { JsonSchema } from '../types.js';

export const schema: JsonSchema = {
  "type": "object",
  "additionalProperties": false,
  "required": [
    "plan"
  ],
  "description": "An external Apache JMeter plan whose samples join perfy's metrics.",
  "properties": {
    "plan": {
      "type": "string",
      "minLength": 1,
      "description": "Path of the .jmx file, relative to the scenario file.",
      "examples": [
        "../fixtures/jmeter/demo-api.jmx"
      ]
    },
    "properties": {
      "type": "object",
      "description": "JMeter properties (`-J`) passed to the plan, which reads them with `${__P(name,default)}` " +
        "(templates allowed: `{{services.api.port}}`).",
      "additionalProperties": {
        "type": [
          "string",
          "number",
          "boolean"
        ]
      },
      "examples": [
        {
          "threads": 20,
          "host": "{{services.api.host}}",
          "port": "{{services.api.port}}"
        }
      ]
    },
    "jmeter": {
      "type": "string",
      "minLength": 1,
      "description": "JMeter to use: its home directory or its `bin/jmeter` script. Default: `$JMETER_HOME`, else " +
        "`jmeter` on the PATH."
    }
  }
};
