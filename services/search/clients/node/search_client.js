#!/usr/bin/env node
// search_client.js: calls search.Search/Query on a Scatter aggregator from Node.js.
//
//   node search_client.js --target HOST:PORT --query "some words" [--k K] [--timeout-ms MS]
//                         [--proto search.proto] [--proto-path DIR]...
//
// Prints the merged hits, one per line as `rank doc_id score shard title` (score with 6
// decimals: the same lines as `search-client --format=lines`), then every `scatter-*` trailer the
// aggregator sent, raw, as `key: value`. Exits 1 with the status on stderr when the call fails.
//
// The stubs come from search.proto at run time (@grpc/proto-loader); scatter/options.proto,
// which it imports, and descriptor.proto are found on --proto-path (default: this tree's proto/
// and /usr/include; with an installed Scatter: `pkg-config --variable=protodir scatter`).
// Dependencies: `npm ci` in this directory (tools/deps runs it).
'use strict';

const path = require('path');

const SEARCH_DIR = path.resolve(__dirname, '..', '..');
const REPO_PROTO_DIR = path.resolve(SEARCH_DIR, '..', '..', 'proto');

function usage(msg) {
	if (msg) process.stderr.write(`search_client.js: ${msg}\n`);
	process.stderr.write('usage: search_client.js --target HOST:PORT --query Q [--k K]' +
		' [--timeout-ms MS] [--proto FILE] [--proto-path DIR]...\n');
	process.exit(2);
}

function parseArgs(argv) {
	const o = {k: 0, timeoutMs: 10000, proto: path.join(SEARCH_DIR, 'search.proto'), protoPath: []};
	for (let i = 0; i < argv.length; i++) {
		const flag = argv[i];
		const value = argv[i + 1];
		if (value === undefined) usage(`${flag} needs a value`);
		i++;
		switch (flag) {
		case '--target': o.target = value; break;
		case '--query': o.query = value; break;
		case '--k': o.k = Number.parseInt(value, 10); break;
		case '--timeout-ms': o.timeoutMs = Number.parseInt(value, 10); break;
		case '--proto': o.proto = path.resolve(value); break;
		case '--proto-path': o.protoPath.push(path.resolve(value)); break;
		default: usage(`unknown flag ${flag}`);
		}
	}
	if (!o.target || o.query === undefined) usage('--target and --query are required');
	if (!(o.k >= 0) || !(o.timeoutMs > 0)) usage('--k and --timeout-ms take numbers');
	if (o.protoPath.length === 0) o.protoPath = [REPO_PROTO_DIR, '/usr/include'];
	return o;
}

function requireDeps() {
	try {
		return [require('@grpc/grpc-js'), require('@grpc/proto-loader')];
	} catch (e) {
		process.stderr.write(`search_client.js: ${e.message.split('\n')[0]}\n` +
			`search_client.js: run \`npm ci\` in ${__dirname} (tools/deps does)\n`);
		process.exit(1);
	}
}

function main() {
	const o = parseArgs(process.argv.slice(2));
	const [grpc, protoLoader] = requireDeps();
	const def = protoLoader.loadSync(o.proto, {
		includeDirs: [path.dirname(o.proto), ...o.protoPath],
		keepCase: true,
		defaults: true,
		longs: String,
		enums: String,
	});
	const search = grpc.loadPackageDefinition(def).search;
	const client = new search.Search(o.target, grpc.credentials.createInsecure());

	let response;
	let error;
	let trailers;
	let pending = 2; // the answer (or error) and the status carrying the trailers
	const done = () => {
		if (--pending > 0) return;
		client.close();
		const scatter = [];
		for (const [key, values] of Object.entries(trailers ? trailers.toJSON() : {})) {
			if (!key.startsWith('scatter-')) continue;
			for (const v of values) scatter.push(`${key}: ${v}\n`);
		}
		if (error) {
			process.stderr.write(`status ${grpc.status[error.code]}: ${error.details}\n` +
				scatter.join(''));
			process.exitCode = 1;
			return;
		}
		// Printed raw: the trailers' fields may grow, and a client should not need to know them.
		const lines = response.hits.map((h, i) =>
			`${i + 1} ${h.doc_id} ${h.score.toFixed(6)} ${h.shard} ${h.title}\n`);
		process.stdout.write(lines.join('') + scatter.join(''));
	};
	const call = client.Query({query: o.query, k: o.k}, {deadline: Date.now() + o.timeoutMs},
		(err, resp) => {
			error = err;
			response = resp;
			done();
		});
	call.on('status', (status) => {
		trailers = status.metadata;
		done();
	});
}

main();
