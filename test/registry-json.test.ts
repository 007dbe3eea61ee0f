import { describe, expect, it } from 'vitest';
import { distributionJson, loginJson } from '../translate/registry-json.js';
import { loginCredentials } from '../translate/registry-auth.js';

/** Pure: POST /auth and GET /distribution/{name}/json answers as dockerd's wire JSON, compared as text. */
const digest = `sha256:${'d'.repeat(64)}`;

describe('login wire JSON', () => {
  it('Status then IdentityToken, an empty token for basic auth', () => {
    expect(JSON.stringify(loginJson({ identityToken: '' }))).toBe('{"Status":"Login Succeeded","IdentityToken":""}');
    expect(JSON.stringify(loginJson({ identityToken: 'tok' }))).toBe('{"Status":"Login Succeeded","IdentityToken":"tok"}');
  });

  it('the body: an identity token stands in for the password, "" is not given, null is no credentials', () => {
    expect(loginCredentials({ username: 'u', password: 'p', serveraddress: 'localhost:5000', email: 'x' })).toEqual({ username: 'u', password: 'p', serverAddress: 'localhost:5000' });
    expect(loginCredentials({ username: 'u', password: '', identitytoken: 't' })).toEqual({ username: 'u', password: 't' });
    expect(loginCredentials(null)).toEqual({});
  });
});

describe('distribution wire JSON', () => {
  it('an index: the descriptor and each platform in dockerd field order, optional fields only when set', () => {
    const json = distributionJson({
      descriptor: { mediaType: 'application/vnd.oci.image.index.v1+json', digest, size: 1234 },
      platforms: [
        { architecture: 'amd64', os: 'linux' },
        { architecture: 'arm', os: 'linux', variant: 'v7' },
        { architecture: 'amd64', os: 'windows', osVersion: '10.0.17763.1', osFeatures: ['win32k'] },
      ],
    });
    expect(JSON.stringify(json)).toBe(
      `{"Descriptor":{"mediaType":"application/vnd.oci.image.index.v1+json","digest":"${digest}","size":1234},` +
        '"Platforms":[{"architecture":"amd64","os":"linux"},{"architecture":"arm","os":"linux","variant":"v7"},' +
        '{"architecture":"amd64","os":"windows","os.version":"10.0.17763.1","os.features":["win32k"]}]}',
    );
  });

  it('no platforms is []', () => {
    expect(JSON.stringify(distributionJson({ descriptor: { mediaType: 'm', digest, size: 1 }, platforms: [] }))).toBe(`{"Descriptor":{"mediaType":"m","digest":"${digest}","size":1},"Platforms":[]}`);
  });
});
