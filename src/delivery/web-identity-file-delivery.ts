// Delivery web-identity-file: the job's ID token in a file plus AWS_ROLE_ARN, so the SDKs call STS and renew themselves.

import { BuildFailure } from '../core/exit-codes.js';
import type { DeliveryMethod } from './delivery.js';
import { regionEnv } from './env.js';
import { jobFilesFor } from './job-files.js';

export const webIdentityFileDelivery: DeliveryMethod = {
  name: 'web-identity-file',
  describe: 'a web-identity token file (the SDKs call STS and refresh themselves)',
  renews: true,
  async deliver({ config, role, obtained, secrets, idToken, state, persist, layout }) {
    const { writeWebIdentityFile, webIdentityEnv } = await import('./web-identity-file.js');
    if (idToken === undefined)
      throw new BuildFailure(`role "${role.name}" is delivered as a web-identity token file, and the job supplied no ID token (declare id_tokens: in the job)`);
    const files = await jobFilesFor(layout, state(), persist, secrets);
    const { path } = await writeWebIdentityFile(files.dir, idToken, files.owner, files.fileMode);
    await persist({
      jobEnv: { ...webIdentityEnv({ roleArn: role.arn, tokenFile: path, sessionName: obtained.session.sessionName }), ...regionEnv(config.aws.region) },
    });
  },
  // The token file is in the job's files directory, which cleanup always removes.
  teardown: () => [],
};
