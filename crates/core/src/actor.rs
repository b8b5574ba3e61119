//! Organisations, roles and the acting user.

use serde::{Deserialize, Serialize};

use crate::{OrgId, TenantId, UserId};

/// The kinds of organisation that share one system.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum OrgKind {
    /// 自治体の部署 (any department; the secretariat is one of them)
    MunicipalDepartment,
    /// 自立相談支援機関
    SupportAgency,
    /// 関係機関 (Hello Work, 社協, 地域包括支援センター, …)
    RelatedAgency,
}

impl OrgKind {
    pub fn label_ja(self) -> &'static str {
        match self {
            OrgKind::MunicipalDepartment => "自治体",
            OrgKind::SupportAgency => "自立相談支援機関",
            OrgKind::RelatedAgency => "関係機関",
        }
    }
    pub const ALL: [OrgKind; 3] = [
        OrgKind::MunicipalDepartment,
        OrgKind::SupportAgency,
        OrgKind::RelatedAgency,
    ];
}

/// Staff roles.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Administrator,
    /// 主任相談支援員
    LeadSupportWorker,
    /// 相談支援員
    SupportWorker,
    /// 就労支援員
    EmploymentSupportWorker,
    /// 自治体職員
    MunicipalOfficer,
    /// 関係機関職員
    RelatedAgencyMember,
    /// 監査担当 (audit only, no case content)
    Auditor,
}

impl Role {
    pub const ALL: [Role; 7] = [
        Role::Administrator,
        Role::LeadSupportWorker,
        Role::SupportWorker,
        Role::EmploymentSupportWorker,
        Role::MunicipalOfficer,
        Role::RelatedAgencyMember,
        Role::Auditor,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Administrator => "administrator",
            Role::LeadSupportWorker => "lead_support_worker",
            Role::SupportWorker => "support_worker",
            Role::EmploymentSupportWorker => "employment_support_worker",
            Role::MunicipalOfficer => "municipal_officer",
            Role::RelatedAgencyMember => "related_agency_member",
            Role::Auditor => "auditor",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    pub fn label_ja(self) -> &'static str {
        match self {
            Role::Administrator => "管理者",
            Role::LeadSupportWorker => "主任相談支援員",
            Role::SupportWorker => "相談支援員",
            Role::EmploymentSupportWorker => "就労支援員",
            Role::MunicipalOfficer => "自治体職員",
            Role::RelatedAgencyMember => "関係機関職員",
            Role::Auditor => "監査担当",
        }
    }

    /// Roles whose work is the content of cases.
    pub fn works_cases(self) -> bool {
        !matches!(self, Role::Administrator | Role::Auditor)
    }
}

impl OrgKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OrgKind::MunicipalDepartment => "municipal_department",
            OrgKind::SupportAgency => "support_agency",
            OrgKind::RelatedAgency => "related_agency",
        }
    }
    pub fn parse(s: &str) -> Option<OrgKind> {
        OrgKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// The user a request acts as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor {
    pub tenant_id: TenantId,
    pub user_id: UserId,
    pub org_id: OrgId,
    pub org_kind: OrgKind,
    pub role: Role,
}

impl Actor {
    pub fn actor_ref(&self) -> crate::ActorRef {
        crate::ActorRef {
            user_id: self.user_id,
            org_id: self.org_id,
        }
    }
}
