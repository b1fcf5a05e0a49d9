"""Who may see what: every staff query goes through these scopes (grants per study and site)."""

from __future__ import annotations

from sqlalchemy import Select, and_, or_, select

from .extensions import db
from .models import Assessment, Participant, Site, Study, StudyGrant, User
from .vocabulary import Role

#: The named role sets the staff views are guarded with (web/guards.roles_required).
EVERYONE = frozenset(Role)
#: Enrol, hand over the tablet, key in paper, correct, mark not done, acknowledge alerts.
EDITORS = frozenset({Role.ADMIN, Role.COORDINATOR})
#: May hold API tokens.
TOKEN_HOLDERS = frozenset({Role.ANALYST, Role.ADMIN})
ADMINS = frozenset({Role.ADMIN})


def visible_studies(user: User) -> Select:
    if user.role == Role.ADMIN:
        return select(Study).order_by(Study.code)
    granted = select(StudyGrant.study_id).where(StudyGrant.user_id == user.id)
    return select(Study).where(Study.id.in_(granted)).order_by(Study.code)


def _participant_scope(user: User):
    """A condition on Participant: in a granted study, and at a granted site where the grant names one."""
    if user.role == Role.ADMIN:
        return True
    grants = db.session.scalars(select(StudyGrant).where(StudyGrant.user_id == user.id)).all()
    if not grants:
        return False
    return or_(*[
        and_(Participant.study_id == g.study_id, *( [Participant.site_id == g.site_id] if g.site_id else []))
        for g in grants
    ])


def visible_participants(user: User) -> Select:
    return select(Participant).where(_participant_scope(user))


def get_assessment(user: User, assessment_id: int) -> Assessment | None:
    """The assessment if the user may see it; None otherwise (the caller answers 404, not 403)."""
    return db.session.scalar(
        select(Assessment).join(Assessment.participant).where(Assessment.id == assessment_id,
                                                               _participant_scope(user))
    )


def get_study(user: User, code: str) -> Study | None:
    """The study if the user has a grant for it (admins see all); None otherwise (the caller answers 404)."""
    return db.session.scalar(visible_studies(user).where(Study.code == code))


def get_participant(user: User, participant_id: int) -> Participant | None:
    return db.session.scalar(visible_participants(user).where(Participant.id == participant_id))


def granted_sites(user: User, study: Study) -> list[Site]:
    """The study's sites the user works at: all for an admin or a whole-study grant, else the granted ones."""
    if user.role == Role.ADMIN:
        return list(study.sites)
    granted = db.session.scalars(select(StudyGrant.site_id).where(StudyGrant.user_id == user.id,
                                                                 StudyGrant.study_id == study.id)).all()
    if None in granted:
        return list(study.sites)
    return [s for s in study.sites if s.id in set(granted)]


def granted_site_codes(user: User, study: Study) -> tuple[str, ...]:
    """The site codes the user is limited to in this study; empty when the user sees every site."""
    sites = granted_sites(user, study)
    return () if len(sites) == len(study.sites) else tuple(sorted(s.code for s in sites))


def may_edit_study(user: User, study: Study) -> bool:
    """Admins, and coordinators holding a study-manager grant for the study (granted the whole study)."""
    if user.role == Role.ADMIN:
        return True
    if user.role != Role.COORDINATOR:
        return False
    return db.session.scalar(select(StudyGrant.id).where(StudyGrant.user_id == user.id,
                                                         StudyGrant.study_id == study.id,
                                                         StudyGrant.site_id.is_(None),
                                                         StudyGrant.manager.is_(True))) is not None


def may_create_study(user: User) -> bool:
    """Admins, and coordinators who manage a study (a study-manager grant); the creator manages the new one."""
    if user.role == Role.ADMIN:
        return True
    if user.role != Role.COORDINATOR:
        return False
    return db.session.scalar(select(StudyGrant.id).where(StudyGrant.user_id == user.id,
                                                         StudyGrant.manager.is_(True)).limit(1)) is not None
