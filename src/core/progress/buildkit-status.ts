// BuildKit's progress arrives as `{"id":"moby.buildkit.trace","aux":"<base64>"}` lines, each a protobuf
// moby.buildkit.v1.StatusResponse. The schema below is the part of it we read, as protobufjs JSON (the
// same messages as dockerode's lib/proto/buildkit_status.proto; fields we skip are skipped on decode).
import { Root, type Type } from 'protobufjs/light';

export interface Timestamp {
  seconds: number;
  nanos: number;
}

export interface Vertex {
  digest: string;
  name: string;
  cached: boolean;
  started?: Timestamp;
  completed?: Timestamp;
  error: string;
}

export interface VertexLog {
  vertex: string;
  /** 1 stdout, 2 stderr. */
  stream: number;
  msg: Uint8Array;
}

export interface StatusResponse {
  vertexes: Vertex[];
  logs: VertexLog[];
}

const SCHEMA = {
  nested: {
    moby: {
      nested: {
        buildkit: {
          nested: {
            v1: {
              nested: {
                StatusResponse: {
                  fields: {
                    vertexes: { rule: 'repeated', type: 'Vertex', id: 1 },
                    logs: { rule: 'repeated', type: 'VertexLog', id: 3 },
                  },
                },
                Vertex: {
                  fields: {
                    digest: { type: 'string', id: 1 },
                    name: { type: 'string', id: 3 },
                    cached: { type: 'bool', id: 4 },
                    started: { type: 'Timestamp', id: 5 },
                    completed: { type: 'Timestamp', id: 6 },
                    error: { type: 'string', id: 7 },
                  },
                },
                VertexLog: {
                  fields: {
                    vertex: { type: 'string', id: 1 },
                    stream: { type: 'int64', id: 3 },
                    msg: { type: 'bytes', id: 4 },
                  },
                },
                Timestamp: { fields: { seconds: { type: 'int64', id: 1 }, nanos: { type: 'int32', id: 2 } } },
              },
            },
          },
        },
      },
    },
  },
};

let statusType: Type | undefined;

/** Decodes one trace message's `aux` (base64). */
export function decodeStatus(aux: string): StatusResponse {
  statusType ??= Root.fromJSON(SCHEMA).lookupType('moby.buildkit.v1.StatusResponse');
  const message = statusType.decode(Buffer.from(aux, 'base64'));
  const plain = statusType.toObject(message, { longs: Number, defaults: true }) as StatusResponse;
  for (const vertex of plain.vertexes) {
    // proto3 messages left out decode as null with `defaults`: treat those as absent.
    if (!vertex.started) delete vertex.started;
    if (!vertex.completed) delete vertex.completed;
  }
  return plain;
}
