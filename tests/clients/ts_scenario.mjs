// The TypeScript SDK 1.x client runs one compatibility scenario against the server.
//
// Input (stdin, JSON): {url, headers, sessions: [{elicitation: bool, steps: [...]}]} where a step
// is {label, tool, args, confirm: null | "token" | "elicit", save: null | name}; a string argument
// "$name" stands for a value saved by an earlier step (the record id it created).
// Output (stdout, JSON): the transcript pytest checks (tests/clients/harness.py, check_transcript).
//
// The SDK is loaded from the pinned install (MCP_CLIENTS_NODE_MODULES, see harness.PREFIX): an
// ES module resolves bare names from its own folder, and this file lives in the source tree.
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const root = process.env.MCP_CLIENTS_NODE_MODULES;
const sdk = (path) =>
  import(pathToFileURL(join(root, "@modelcontextprotocol/sdk/dist/esm", path)).href);
const { Client } = await sdk("client/index.js");
const { StreamableHTTPClientTransport } = await sdk("client/streamableHttp.js");
const { ElicitRequestSchema } = await sdk("types.js");
const { AjvJsonSchemaValidator } = await sdk("validation/ajv-provider.js");

const input = JSON.parse(await new Promise((resolve, reject) => {
  let text = "";
  process.stdin.setEncoding("utf8");
  process.stdin.on("data", (chunk) => (text += chunk));
  process.stdin.on("end", () => resolve(text));
  process.stdin.on("error", reject);
}));

// Counts every outputSchema check the client makes with its default (Ajv) validator: a
// successful callTool that returned cleanly after exactly one check is the proof of strictness.
function countingValidator(log) {
  const ajv = new AjvJsonSchemaValidator();
  return {
    getValidator(schema) {
      const check = ajv.getValidator(schema);
      return (value) => {
        const verdict = check(value);
        log.push(verdict.valid);
        return verdict;
      };
    },
  };
}

function substitute(value, saved) {
  if (typeof value === "string" && value.startsWith("$")) return saved[value.slice(1)];
  if (Array.isArray(value)) return value.map((v) => substitute(v, saved));
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v, saved)]));
  }
  return value;
}

function thrown(error) {
  return { code: error?.code ?? null, message: String(error?.message ?? error) };
}

async function runSession(session, transcript) {
  const checks = [];
  const capabilities = session.elicitation ? { elicitation: { form: {} } } : {};
  const client = new Client(
    { name: "ontraport-mcp-compat-ts", version: "1.0.0" },
    { capabilities, jsonSchemaValidator: countingValidator(checks) },
  );
  if (session.elicitation) {
    client.setRequestHandler(ElicitRequestSchema, async (request) => {
      transcript.elicitations.push(request.params.message);
      return { action: "accept", content: { confirm: true } };
    });
  }
  const transport = new StreamableHTTPClientTransport(new URL(input.url), {
    requestInit: { headers: input.headers },
  });
  await client.connect(transport);
  try {
    const listed = await client.listTools();
    transcript.tools = listed.tools;
    transcript.protocol_version = transport.protocolVersion ?? null;

    async function call(label, tool, args) {
      const before = checks.length;
      const record = { tool, args, result: null, threw: null, validated: 0, valid: [] };
      try {
        record.result = await client.callTool({ name: tool, arguments: args });
      } catch (error) {
        record.threw = thrown(error);
      }
      record.valid = checks.slice(before);
      record.validated = record.valid.length;
      transcript.steps[label] = record;
      return record.result;
    }

    const saved = {};
    for (const step of session.steps) {
      const args = substitute(step.args, saved);
      let result;
      if (step.confirm === "token") {
        const ask = await call(`${step.label}_ask`, step.tool, args);
        const token = ask?.structuredContent?.confirmation_token;
        result = await call(step.label, step.tool, { ...args, confirmation_token: token });
      } else {
        result = await call(step.label, step.tool, args);
      }
      if (step.save) saved[step.save] = result?.structuredContent?.id;
    }

    if (!session.elicitation) {
      // Control: the same call checked against a stricter schema must throw -32602, so a clean
      // return above really means "valid against the listed outputSchema".
      const stricter = listed.tools.map((tool) =>
        tool.name === "get_objects"
          ? { ...tool, outputSchema: { ...tool.outputSchema,
              required: [...(tool.outputSchema.required ?? []), "__control__"] } }
          : tool,
      );
      client.cacheToolMetadata(stricter);
      try {
        await client.callTool({ name: "get_objects", arguments: { object_type_id: 0, range: 1 } });
        transcript.control = { threw: null };
      } catch (error) {
        transcript.control = { threw: thrown(error) };
      }
      client.cacheToolMetadata(listed.tools);
    }
  } finally {
    await client.close();
  }
}

const transcripts = [];
for (const session of input.sessions) {
  const transcript = { tools: [], steps: {}, elicitations: [], protocol_version: null };
  await runSession(session, transcript);
  transcripts.push(transcript);
}
process.stdout.write(JSON.stringify(transcripts));
