// Timebox on Azure: one resource group holding
//   - a user-assigned managed identity: the bot's identity (Azure Bot, UserAssignedMSI) and
//     Timebox's Microsoft Graph identity (AZURE_CLIENT_ID);
//   - Log Analytics for the Container Apps environment's logs;
//   - a Key Vault (RBAC) for every secret the app reads (TIMEBOX_AUDIT_KEY);
//   - an Azure Files share for the lowdb store, mounted at /data;
//   - a Container App running the image (never scaled to zero: the expiry timer lives in the
//     process), with liveness and readiness probes on /healthz and /readyz;
//   - an Azure Bot with the Microsoft Teams channel and the messaging endpoint;
//   - with storage = 'postgresql' only: Azure Database for PostgreSQL Flexible Server with
//     Microsoft Entra authentication only (no passwords), the identity as its administrator.
//
// Provision: `m365agents.yml` (Microsoft 365 Agents Toolkit → Provision), or
//   az deployment group create -g <rg> -f infra/azure.bicep -p infra/azure.parameters.json
// NB: no Bicep compiler runs in this repository's CI; test/unit/ops/infra.test.ts checks what
// it can from the text (environment variables, API versions, probe paths). Every API version
// below is listed in infra/api-versions.json, and only there.

@description('Short name used in every resource name.')
@minLength(3)
@maxLength(16)
param resourceBaseName string

@description('Where the resources go.')
param location string = resourceGroup().location

@description('The Timebox container image, e.g. myregistry.azurecr.io/timebox:0.1.0 (build it from the Containerfile).')
param containerImage string

@description('Registry server of containerImage when it needs credentials (the identity gets pulled with AcrPull separately); empty for a public image.')
param containerRegistryServer string = ''

@description('The policy file (YAML text, see examples/). Mounted read-only at /config/timebox.policy.yaml.')
param policyYaml string

@description('lowdb: one replica on an Azure Files share (the default). postgresql: 2 to 3 replicas on Azure Database for PostgreSQL, signing in with the managed identity (no password).')
@allowed([
  'lowdb'
  'postgresql'
])
param storage string = 'lowdb'

@description('Key for the audit log checkpoints (TIMEBOX_AUDIT_KEY, ≥ 32 bytes hex or base64); empty = no checkpoints. Stored in Key Vault only.')
@secure()
param auditKey string = ''

@description('Object id of the person or group that manages the Key Vault secrets (Key Vault Secrets Officer); empty = none.')
param keyVaultAdminObjectId string = ''

@description('Azure Bot pricing tier (F0 is free, for tries; S1 for production).')
@allowed([
  'F0'
  'S1'
])
param botSku string = 'S1'

@description('Display name of the bot in Azure.')
param botDisplayName string = 'Timebox'

@description('LOG_LEVEL of the app (info logs every transition).')
param logLevel string = 'info'

var tenantId = subscription().tenantId
var port = 3978
var metricsPort = 9464
var usePostgres = storage == 'postgresql'
var suffix = uniqueString(resourceGroup().id, resourceBaseName)
var keyVaultName = take('kv${resourceBaseName}${suffix}', 24)
var storageAccountName = take(toLower('st${resourceBaseName}${suffix}'), 24)
var keyVaultSecretsUser = '4633458b-17de-408a-b874-0445c86b69e6'
var keyVaultSecretsOfficer = 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7'

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: '${resourceBaseName}-id'
  location: location
}

resource logs 'Microsoft.OperationalInsights/workspaces@2022-10-01' = {
  name: '${resourceBaseName}-logs'
  location: location
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: 90
  }
}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: keyVaultName
  location: location
  properties: {
    tenantId: tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    enablePurgeProtection: true
    publicNetworkAccess: 'Enabled'
  }
}

resource auditKeySecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(auditKey)) {
  parent: vault
  name: 'timebox-audit-key'
  properties: {
    value: auditKey
  }
}

resource vaultReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, identity.id, keyVaultSecretsUser)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsUser)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource vaultAdmin 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(keyVaultAdminObjectId)) {
  name: guid(vault.id, keyVaultAdminObjectId, keyVaultSecretsOfficer)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsOfficer)
    principalId: keyVaultAdminObjectId
  }
}

resource files 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: storageAccountName
  location: location
  kind: 'StorageV2'
  sku: {
    name: 'Standard_ZRS'
  }
  properties: {
    minimumTlsVersion: 'TLS1_2'
    allowBlobPublicAccess: false
    supportsHttpsTrafficOnly: true
  }
}

resource fileService 'Microsoft.Storage/storageAccounts/fileServices@2023-05-01' = {
  parent: files
  name: 'default'
  properties: {
    shareDeleteRetentionPolicy: {
      enabled: true
      days: 14
    }
  }
}

resource dataShare 'Microsoft.Storage/storageAccounts/fileServices/shares@2023-05-01' = {
  parent: fileService
  name: 'timebox-data'
  properties: {
    shareQuota: 5
  }
}

resource environment 'Microsoft.App/managedEnvironments@2024-03-01' = {
  name: '${resourceBaseName}-env'
  location: location
  properties: {
    appLogsConfiguration: {
      destination: 'log-analytics'
      logAnalyticsConfiguration: {
        customerId: logs.properties.customerId
        sharedKey: logs.listKeys().primarySharedKey
      }
    }
  }
}

resource dataStorage 'Microsoft.App/managedEnvironments/storages@2024-03-01' = {
  parent: environment
  name: 'timebox-data'
  properties: {
    azureFile: {
      accountName: files.name
      accountKey: files.listKeys().keys[0].value
      shareName: dataShare.name
      accessMode: 'ReadWrite'
    }
  }
}

resource postgres 'Microsoft.DBforPostgreSQL/flexibleServers@2022-12-01' = if (usePostgres) {
  name: '${resourceBaseName}-pg-${suffix}'
  location: location
  sku: {
    name: 'Standard_B1ms'
    tier: 'Burstable'
  }
  properties: {
    version: '16'
    storage: {
      storageSizeGB: 32
    }
    backup: {
      backupRetentionDays: 14
      geoRedundantBackup: 'Disabled'
    }
    highAvailability: {
      mode: 'Disabled'
    }
    authConfig: {
      activeDirectoryAuth: 'Enabled'
      passwordAuth: 'Disabled'
      tenantId: tenantId
    }
  }
}

resource postgresAdmin 'Microsoft.DBforPostgreSQL/flexibleServers/administrators@2022-12-01' = if (usePostgres) {
  parent: postgres
  name: identity.properties.principalId
  properties: {
    principalType: 'ServicePrincipal'
    principalName: identity.name
    tenantId: tenantId
  }
}

resource postgresDatabase 'Microsoft.DBforPostgreSQL/flexibleServers/databases@2022-12-01' = if (usePostgres) {
  parent: postgres
  name: 'timebox'
}

// Every variable is one Timebox reads (src/config.ts and the Graph credential); the test checks it.
var baseEnv = [
  {
    name: 'PORT'
    value: string(port)
  }
  {
    name: 'TIMEBOX_METRICS_PORT'
    value: string(metricsPort)
  }
  {
    name: 'TIMEBOX_POLICY'
    value: '/config/timebox.policy.yaml'
  }
  {
    name: 'TIMEBOX_DATA_DIR'
    value: '/data'
  }
  {
    name: 'LOG_LEVEL'
    value: logLevel
  }
  {
    name: 'MicrosoftAppType'
    value: 'UserAssignedMSI'
  }
  {
    name: 'MicrosoftAppId'
    value: identity.properties.clientId
  }
  {
    name: 'MicrosoftAppTenantId'
    value: tenantId
  }
  {
    name: 'AZURE_CLIENT_ID'
    value: identity.properties.clientId
  }
]
var auditKeyEnv = empty(auditKey) ? [] : [
  {
    name: 'TIMEBOX_AUDIT_KEY'
    secretRef: 'timebox-audit-key'
  }
]
var postgresEnv = usePostgres ? [
  {
    name: 'DATABASE_URL'
    value: 'postgresql://${identity.name}@${postgres.properties.fullyQualifiedDomainName}:5432/timebox?sslmode=require'
  }
] : []

var policySecret = [
  {
    name: 'timebox-policy'
    value: policyYaml
  }
]
var auditKeyAppSecret = empty(auditKey) ? [] : [
  {
    name: 'timebox-audit-key'
    keyVaultUrl: auditKeySecret.properties.secretUri
    identity: identity.id
  }
]

resource app 'Microsoft.App/containerApps@2024-03-01' = {
  name: '${resourceBaseName}-app'
  location: location
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identity.id}': {}
    }
  }
  dependsOn: [
    vaultReader
    dataStorage
  ]
  properties: {
    managedEnvironmentId: environment.id
    configuration: {
      // One active revision. With lowdb a roll-over would briefly run two writers: updates are
      // stop-then-start (docs/deploy.md, "Storage"), never an overlapping revision.
      activeRevisionsMode: 'Single'
      ingress: {
        external: true
        targetPort: port
        transport: 'http'
        allowInsecure: false
      }
      registries: empty(containerRegistryServer) ? [] : [
        {
          server: containerRegistryServer
          identity: identity.id
        }
      ]
      secrets: concat(policySecret, auditKeyAppSecret)
    }
    template: {
      containers: [
        {
          name: 'timebox'
          image: containerImage
          resources: {
            cpu: json('0.5')
            memory: '1Gi'
          }
          env: concat(baseEnv, auditKeyEnv, postgresEnv)
          probes: [
            {
              type: 'Liveness'
              httpGet: {
                path: '/healthz'
                port: port
              }
              initialDelaySeconds: 5
              periodSeconds: 10
              failureThreshold: 3
            }
            {
              type: 'Readiness'
              httpGet: {
                path: '/readyz'
                port: port
              }
              periodSeconds: 5
              failureThreshold: 2
            }
            {
              type: 'Startup'
              httpGet: {
                path: '/healthz'
                port: port
              }
              periodSeconds: 2
              failureThreshold: 30
            }
          ]
          volumeMounts: [
            {
              volumeName: 'data'
              mountPath: '/data'
            }
            {
              volumeName: 'config'
              mountPath: '/config'
            }
          ]
        }
      ]
      volumes: [
        {
          name: 'data'
          storageType: 'AzureFile'
          storageName: dataStorage.name
        }
        {
          name: 'config'
          storageType: 'Secret'
          secrets: [
            {
              secretRef: 'timebox-policy'
              path: 'timebox.policy.yaml'
            }
          ]
        }
      ]
      scale: {
        // Never zero: the expiry timer lives in the process. lowdb: exactly one (one writer).
        minReplicas: usePostgres ? 2 : 1
        maxReplicas: usePostgres ? 3 : 1
      }
    }
  }
}

resource bot 'Microsoft.BotService/botServices@2022-09-15' = {
  name: '${resourceBaseName}-bot-${suffix}'
  location: 'global'
  kind: 'azurebot'
  sku: {
    name: botSku
  }
  properties: {
    displayName: botDisplayName
    endpoint: 'https://${app.properties.configuration.ingress.fqdn}/api/messages'
    msaAppId: identity.properties.clientId
    msaAppType: 'UserAssignedMSI'
    msaAppMSIResourceId: identity.id
    msaAppTenantId: tenantId
    disableLocalAuth: true
  }
}

resource teamsChannel 'Microsoft.BotService/botServices/channels@2022-09-15' = {
  parent: bot
  name: 'MsTeamsChannel'
  location: 'global'
  properties: {
    channelName: 'MsTeamsChannel'
    properties: {
      isEnabled: true
    }
  }
}

output BOT_ID string = identity.properties.clientId
output BOT_DOMAIN string = app.properties.configuration.ingress.fqdn
output BOT_ENDPOINT string = 'https://${app.properties.configuration.ingress.fqdn}/api/messages'
output TIMEBOX_IDENTITY_PRINCIPAL_ID string = identity.properties.principalId
output TIMEBOX_KEY_VAULT_NAME string = vault.name
output TIMEBOX_CONTAINER_APP_NAME string = app.name
output TIMEBOX_LOG_ANALYTICS_WORKSPACE_ID string = logs.properties.customerId
