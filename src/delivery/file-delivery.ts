// Delivery file: a shared credentials + config file pair in the job's files directory (static, never renewed).

import type { DeliveryMethod } from './delivery.js';
import { regionEnv } from './env.js';
import { jobFilesFor } from './job-files.js';

export const fileDelivery: DeliveryMethod = {
  name: 'file',
  describe: 'a per-job shared credentials file (not refreshed)',
  renews: false,
  async deliver({ config, obtained, secrets, state, persist, layout }) {
    const { writeCredentialFiles } = await import('./file.js');
    const files = await jobFilesFor(layout, state(), persist, secrets);
    const written = await writeCredentialFiles(files.dir, obtained.session.credentials, config.aws.region, files.owner, files.fileMode);
    await persist({ jobEnv: { ...written.env, ...regionEnv(config.aws.region) } });
  },
  // The files are in the job's files directory, which cleanup always removes.
  teardown: () => [],
};
